"""A property-based fuzz of the whole HTTP API (schemathesis over the app's own OpenAPI document).

Two tenants share one platform. Tenant A owns private things whose ids, names and contents carry unique
marker strings (a private spell with a cast and an artifact, keys, a button, budget caps); tenant B owns
the same kinds of things, public. Every operation of the document is then sent generated requests
(valid and invalid ones) with B's key, some of them naming A's resources, and each answer must:

- never be a 5xx;
- conform to the document: a documented status code, a documented content type, a body that matches
  the documented schema;
- never carry anything of A's that B's request did not itself contain (an error may echo the id B
  asked for, but never A's cast input, key secret, user, tenant or private spell).

Bounded in examples per operation and in total time; see ``_EXAMPLES`` and ``_BUDGET_S``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.python import asgi

from spell.api import create_app
from spell.config.server import ServerSettings
from spell.platform.server import Platform
from spell.runtimes.base import CastRequest, CastResult, Runtime
from spell.runtimes.wasm import WasmRuntime
from spell.testing.runtimes import FileWritingRuntime
from tests.server_factories import archive_of, wasm_bundle
from tests.server_fixtures import Caller, seed_maker, seed_user

pytestmark = pytest.mark.slow

# Bundles are published as canonical tar archives: generated bodies are raw bytes.
schemathesis.serializer.alias("application/x-tar", "application/octet-stream")

_EXAMPLES = 25  # generated requests per operation (explicit examples come on top)
_BUDGET_S = 45.0  # per backend; operations past it are reported as not reached, and the test fails


# 503s by design: a feature this platform was not configured with, or a full server; never a crash.
_UNAVAILABLE = {"PAYMENTS_UNAVAILABLE", "OVERLOADED"}


def _error_code(response: Any) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("code") if isinstance(error, dict) else None


class _SeededArtifacts:
    """WASM for every spell, except the seed's ``*/files`` spells: each writes one fixed artifact.

    The fuzz never chooses file names: the artifact's name and text come from the spell's publisher.
    """

    def __init__(self, wasm: WasmRuntime, scratch: Path) -> None:
        self.wasm = wasm
        self.files = FileWritingRuntime(scratch)

    def run(self, request: CastRequest) -> CastResult:
        publisher, name = request.manifest.id.split("/", 1)
        if name != "files":
            return self.wasm.run(request)
        files = {f"report-{publisher}.txt": f"artifact of {publisher}"}
        fixed = CastRequest(
            bundle_dir=request.bundle_dir,
            manifest=request.manifest,
            input={"files": files},
            limits=request.limits,
            work_dir=request.work_dir,
        )
        return self.files.run(fixed)


@dataclass
class Tenant:
    """One seeded tenant: its caller, the ids of what it owns and the strings that must not leak."""

    caller: Caller
    publisher: str
    spell_id: str
    files_spell_id: str
    button_id: str
    cast_id: str = ""
    files_cast_id: str = ""
    key_id: str = ""
    artifact_id: str = ""
    secrets: set[str] = field(default_factory=set)


MARK_A = "zqmarka" + secrets.token_hex(5)
MARK_B = "zqmarkb" + secrets.token_hex(5)


@pytest.fixture
def runtimes(wasm_runtime: WasmRuntime, tmp_path: Path) -> dict[str, Runtime]:
    return {"wasm": _SeededArtifacts(wasm_runtime, tmp_path / "scratch")}


async def _seed_tenant(
    http: httpx.AsyncClient, platform: Platform, tmp_path: Path, mark: str, *, visibility: str
) -> Tenant:
    publisher = "p" + mark
    caller = await seed_maker(http, platform, email=f"{mark}@example.com", publisher=publisher)
    assert caller.publisher is not None
    tenant = Tenant(
        caller=caller,
        publisher=publisher,
        spell_id=f"{publisher}/spell{mark}",
        files_spell_id=f"{publisher}/files",
        button_id="button" + mark,
    )
    headers = caller.headers
    for spell_id in (tenant.spell_id, tenant.files_spell_id):
        bundle = wasm_bundle(tmp_path / f"bundle-{mark}-{spell_id.split('/')[1]}", spell_id, signer=caller.publisher)
        published = await http.post("/v1/spells", headers=headers, content=archive_of(bundle))
        assert published.status_code == 201, published.text
        patched = await http.patch(f"/v1/spells/{spell_id}", headers=headers, json={"visibility": visibility})
        assert patched.status_code == 200, patched.text
    button = await http.post(
        "/v1/buttons",
        headers=headers,
        json={"id": tenant.button_id, "spell_id": tenant.spell_id, "version": "1.0.0", "label": mark},
    )
    assert button.status_code == 201, button.text
    budget = await http.put("/v1/budget", headers=headers, json={"daily_micros": 7_770_000, "total_micros": 8_880_000})
    assert budget.status_code == 200, budget.text
    wait = {**headers, "Prefer": "wait=10"}
    cast = await http.post(
        f"/v1/spells/{tenant.spell_id}/cast",
        headers={**wait, "Idempotency-Key": "seed-" + mark},
        json={"input": {"name": "input-" + mark}},
    )
    assert cast.status_code == 200, cast.text
    tenant.cast_id = cast.json()["id"]
    files_cast = await http.post(
        f"/v1/spells/{tenant.files_spell_id}/cast",
        headers={**wait, "Idempotency-Key": "files-" + mark},
        json={"input": {"name": "files-" + mark}},
    )
    assert files_cast.status_code == 200, files_cast.text
    tenant.files_cast_id = files_cast.json()["id"]
    artifacts = await http.get(f"/v1/casts/{tenant.files_cast_id}/artifacts", headers=headers)
    items = artifacts.json()["items"]
    tenant.artifact_id = items[0]["id"] if items else ""
    key = await http.post("/v1/keys", headers=headers, json={"name": "key-" + mark})
    assert key.status_code == 201, key.text
    tenant.key_id = key.json()["id"]
    me = (await http.get("/v1/me", headers=headers)).json()
    tenant.secrets = {
        mark,
        caller.token,
        key.json()["token"],
        key.json()["id"],
        me["user_id"],
        me["tenant_id"],
        tenant.cast_id,
        tenant.files_cast_id,
    } | ({tenant.artifact_id} if tenant.artifact_id else set())
    return tenant


@dataclass
class World:
    app: Any
    a: Tenant
    b: Tenant


@pytest.fixture
def world(platform: Platform, server_settings: ServerSettings, tmp_path: Path) -> Iterator[World]:
    app = create_app(server_settings, platform=platform, manage=False)

    async def seed() -> World:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://spell.test") as http:
            a = await _seed_tenant(http, platform, tmp_path, MARK_A, visibility="private")
            b = await _seed_tenant(http, platform, tmp_path, MARK_B, visibility="public")
        return World(app=app, a=a, b=b)

    yield anyio.run(seed)
    asgi.shutdown_lifespans()


def _known_values(world: World) -> dict[str, list[str]]:
    """Path parameter values worth trying besides generated ones: both tenants' real ids."""
    a, b = world.a, world.b
    return {
        "cast_id": [a.cast_id, b.cast_id, a.files_cast_id],
        "spell_id": [a.spell_id, b.spell_id, a.files_spell_id],
        "key_id": [a.key_id, b.key_id, a.caller.publisher.key_id if a.caller.publisher else "k1"],
        "button_id": [a.button_id, b.button_id],
        "artifact_id": [a.artifact_id, b.artifact_id],
        "publisher": [a.publisher, b.publisher],
        "version": ["1.0.0"],
        "user_id": [a.caller.user_id, b.caller.user_id],
    }


def _avoid_known_elsewhere(case: Any) -> None:
    """Steer clear of hostile inputs whose fixes are being made separately (issue 11, item 9).

    Each line names exactly one class; delete it once that fix is in.
    """
    query = case.query or {}
    if case.operation.path == "/v1/artifacts/{artifact_id}" and isinstance(query.get("sig"), str):
        query["sig"] = query["sig"].encode("ascii", "ignore").decode()  # non-ASCII artifact sig
    if case.operation.path in ("/v1/budget", "/v1/billing/top-ups") and isinstance(case.body, dict):
        for name, value in case.body.items():  # budget caps and amounts past int64
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
                case.body[name] = 2**63 - 1


def test_api_fuzz_finds_no_server_error_schema_mismatch_or_cross_tenant_leak(world: World) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.app)
    known = _known_values(world)
    failures: list[str] = []
    calls: list[str] = []
    started = time.monotonic()

    for result in schema.get_all_operations():
        operation = result.ok()
        if time.monotonic() - started > _BUDGET_S:
            failures.append(f"{operation.label}: not reached within {_BUDGET_S}s")
            continue

        modes = st.one_of(*(operation.as_strategy(mode) for mode in GenerationMode))

        @settings(
            max_examples=_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=modes, data=st.data())
        def run(case: Any, data: st.DataObject) -> None:
            for name in list(case.path_parameters or {}):
                if name in known and data.draw(st.booleans(), label=f"known {name}"):
                    case.path_parameters[name] = data.draw(st.sampled_from(known[name]))
            case.headers = {**(case.headers or {}), **world.b.caller.headers}
            _avoid_known_elsewhere(case)
            try:
                response = case.call(timeout=20)
            except Exception as exc:  # the in-process client re-raises what the app did not handle
                failures.append(f"{operation.label}: raised {type(exc).__name__}: {exc}\n  {case.as_curl_command()}")
                return
            try:
                case.validate_response(
                    response,
                    checks=[
                        status_code_conformance,
                        content_type_conformance,
                        response_schema_conformance,
                    ],
                )
            except FailureGroup as exc:
                found = "; ".join(f"{f.title}: {f.message}" for f in exc.exceptions)
                failures.append(f"{operation.label}: {found}\n  {case.as_curl_command()}")
                return
            if response.status_code >= 500 and _error_code(response) not in _UNAVAILABLE:
                failures.append(f"{operation.label}: {response.status_code} {response.text}\n  {case.as_curl_command()}")
                return
            calls.append(f"{operation.label} {response.status_code}")
            sent = repr(case.path_parameters) + repr(case.query) + repr(case.body) + repr(case.headers)
            leaked = sorted(s for s in world.a.secrets if s and s in response.text and s not in sent)
            if leaked:
                failures.append(f"{operation.label}: leaked {leaked}\n  {case.as_curl_command()}\n{response.text}")

        run()
    elapsed = time.monotonic() - started
    print(f"fuzz: {elapsed:.1f}s, {len(calls)} requests")
    import collections
    for k, v in sorted(collections.Counter(calls).items()):
        print(v, k)
    assert not failures, "\n".join(failures)
