"""A property-based fuzz of the whole HTTP API: schemathesis over the app's own OpenAPI document.

Two tenants share one platform. Tenant A owns private things whose ids, names and contents carry unique
marker strings (two private spells, a cast with an artifact, a second key, a button, budget caps);
tenant B owns the same kinds of things, public. Every operation of the document is sent generated
requests, valid and invalid ones, mostly as B (reads as A too, some without credentials), many of them
naming A's or B's real resources. Each answer must:

- never be a 5xx (a 503 that says a feature is not configured here excepted);
- conform to the document: a documented status code and content type, a body matching its schema;
- never carry anything of A's that the request did not itself contain (an error may echo the id B
  asked for, never A's cast input, key secret or name, user, tenant, email or private spell); A's
  reads show nothing of B's but its public spells; without credentials, nothing of either tenant.

Bounded per operation (``_EXAMPLES``) and in time (``_BUDGET_S`` per backend); derandomized, so a run
is repeatable and a failure names a request to replay.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.result import Err
from schemathesis.errors import FailureGroup
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from spell.api import create_app
from spell.config.server import ServerSettings
from spell.platform.server import Platform
from spell.runtimes.base import CastRequest, CastResult, Runtime
from spell.runtimes.wasm import WasmRuntime
from spell.testing.runtimes import FileWritingRuntime
from tests.fixtures.bundles import archive_of, wasm_bundle
from tests.fixtures.server import Caller, seed_maker

pytestmark = pytest.mark.slow

# Generated requests per operation: the whole fuzz takes about 15 s on SQLite and 6 s on PostgreSQL on
# a quiet 2-core machine, three times that under load; past the time budget, the remaining operations
# get a few requests each, so the run stays bounded.
_EXAMPLES = {"sqlite": 40, "postgresql": 15}
_BUDGET_S = 40.0
_EXAMPLES_PAST_BUDGET = 3
# Answers match the document; requests the document calls invalid are refused (4xx), never accepted.
_CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# 503s by design: a feature this platform was not configured with, or a full server; never a crash.
_UNAVAILABLE = {"PAYMENTS_UNAVAILABLE", "OVERLOADED"}
# Webhook URLs the fuzz may send: none needs a DNS lookup (the network is closed) and none is accepted
# (private and loopback targets are refused), so no cast ever calls out.
_WEBHOOK_URLS = [
    "https://10.1.2.3:99999/hook",
    "https://192.168.1.1:port/hook",
    "https://[::1/hook",
    "https://127.0.0.1/hook",
    "https://[::1]:8443/hook",
    "http://127.0.0.1/hook",
    "ftp://127.0.0.1/",
    "https://",
    "not a url",
]

# Bundles are published as canonical tar archives: generated bodies are raw bytes.
schemathesis.serializer.alias("application/x-tar", "application/octet-stream")


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


@pytest.fixture
def runtimes(wasm_runtime: WasmRuntime, tmp_path: Path) -> dict[str, Runtime]:
    return {"wasm": _SeededArtifacts(wasm_runtime, tmp_path / "scratch")}


@dataclass
class Tenant:
    """One seeded tenant: its caller, the ids of what it owns and the strings that must not leak."""

    caller: Caller
    publisher: str
    spell_id: str
    files_spell_id: str
    button_id: str
    archives: list[bytes] = field(default_factory=list)  # a published one, and a next version
    cast_id: str = ""
    files_cast_id: str = ""
    key_id: str = ""
    artifact_id: str = ""
    secrets: set[str] = field(default_factory=set)


def _marker(tenant: str, what: str) -> str:
    return f"zq{tenant}{what}{secrets.token_hex(5)}"


async def _publish(http: httpx.AsyncClient, headers: dict[str, str], archive: bytes, visibility: str) -> str:
    published = await http.post("/v1/spells", headers=headers, content=archive)
    assert published.status_code == 201, published.text
    spell_id: str = published.json()["spell_id"]
    patched = await http.patch(f"/v1/spells/{spell_id}", headers=headers, json={"visibility": visibility})
    assert patched.status_code == 200, patched.text
    return spell_id


async def _seed_tenant(
    http: httpx.AsyncClient, platform: Platform, tmp_path: Path, name: str, *, visibility: str
) -> Tenant:
    """A maker's tenant with two spells, a button, caps, a cast, an artifact and a second key."""
    publisher = _marker(name, "pub")
    email = _marker(name, "mail") + "@example.com"
    caller = await seed_maker(http, platform, email=email, publisher=publisher)
    assert caller.publisher is not None
    tenant = Tenant(
        caller=caller,
        publisher=publisher,
        spell_id=f"{publisher}/{_marker(name, 'spell')}",
        files_spell_id=f"{publisher}/files",
        button_id=_marker(name, "button"),
    )
    headers = caller.headers
    for spell_id in (tenant.spell_id, tenant.files_spell_id):
        bundle = wasm_bundle(tmp_path / secrets.token_hex(4), spell_id, signer=caller.publisher)
        tenant.archives.append(archive_of(bundle))
        await _publish(http, headers, tenant.archives[-1], visibility)
    next_version = wasm_bundle(
        tmp_path / secrets.token_hex(4), tenant.spell_id, version="1.0.1", signer=caller.publisher
    )
    tenant.archives.append(archive_of(next_version))
    label = _marker(name, "label")
    button = await http.post(
        "/v1/buttons",
        headers=headers,
        json={"id": tenant.button_id, "spell_id": tenant.spell_id, "version": "1.0.0", "label": label},
    )
    assert button.status_code == 201, button.text
    caps = {"daily_micros": 7_770_000, "total_micros": 8_880_000}
    assert (await http.put("/v1/budget", headers=headers, json=caps)).status_code == 200
    wait = {**headers, "Prefer": "wait=10"}
    given_input = _marker(name, "input")
    cast = await http.post(
        f"/v1/spells/{tenant.spell_id}/cast",
        headers={**wait, "Idempotency-Key": "seed"},
        json={"input": {"name": given_input}},
    )
    assert cast.status_code == 200, cast.text
    tenant.cast_id = cast.json()["id"]
    files_cast = await http.post(
        f"/v1/spells/{tenant.files_spell_id}/cast",
        headers={**wait, "Idempotency-Key": "files"},
        json={"input": {"name": "files"}},
    )
    assert files_cast.status_code == 200, files_cast.text
    tenant.files_cast_id = files_cast.json()["id"]
    artifacts = await http.get(f"/v1/casts/{tenant.files_cast_id}/artifacts", headers=headers)
    tenant.artifact_id = artifacts.json()["items"][0]["id"]
    key_name = _marker(name, "key")
    key = await http.post("/v1/keys", headers=headers, json={"name": key_name})
    assert key.status_code == 201, key.text
    tenant.key_id = key.json()["id"]
    me = (await http.get("/v1/me", headers=headers)).json()
    tenant.secrets = {
        publisher,
        email,
        label,
        given_input,
        key_name,
        caller.token,
        key.json()["token"],
        tenant.key_id,
        me["user_id"],
        me["tenant_id"],
        tenant.cast_id,
        tenant.files_cast_id,
        tenant.artifact_id,
        tenant.button_id,
    }
    return tenant


@dataclass
class World:
    """The app, tenant A (private things) and tenant B (public things, the fuzzing caller)."""

    app: Any
    backend: str
    a: Tenant
    b: Tenant

    def known(self) -> dict[str, tuple[list[str], list[str]]]:
        """Values for path parameters besides generated ones: A's real ids, and B's."""
        a, b = self.a, self.b
        return {
            "cast_id": ([a.cast_id, a.files_cast_id], [b.cast_id, b.files_cast_id]),
            "spell_id": ([a.spell_id, a.files_spell_id], [b.spell_id, b.files_spell_id]),
            "key_id": ([a.key_id, "k1"], [b.key_id, "k1"]),
            "button_id": ([a.button_id], [b.button_id]),
            "artifact_id": ([a.artifact_id], [b.artifact_id]),
            "publisher": ([a.publisher], [b.publisher]),
            "version": (["1.0.0"], ["1.0.0", "1.0.1"]),
            "user_id": ([a.caller.user_id], [b.caller.user_id]),
        }


@pytest.fixture
def world(platform: Platform, server_settings: ServerSettings, tmp_path: Path) -> Iterator[World]:
    app = create_app(server_settings, platform=platform, manage=False)

    async def seed() -> World:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://spell.test") as http:
            a = await _seed_tenant(http, platform, tmp_path, "a", visibility="private")
            b = await _seed_tenant(http, platform, tmp_path, "b", visibility="public")
        return World(app=app, backend="sqlite" if server_settings.is_sqlite else "postgresql", a=a, b=b)

    yield anyio.run(seed)
    asgi.shutdown_lifespans()


def _steer(case: Any, data: st.DataObject, world: World) -> None:
    """Point some requests at real resources and real archives; keep webhook URLs off the network."""
    known = world.known()
    for name in list(case.path_parameters or {}):
        if name in known and data.draw(st.booleans(), label=f"real {name}"):
            owned_by_b = data.draw(st.booleans(), label=f"{name} of B")
            case.path_parameters[name] = data.draw(st.sampled_from(known[name][owned_by_b]))
    # A real archive only where the rest of the request is meant to be valid: a negative case (a bad
    # query parameter, say) must stay one, so that its refusal is what is checked.
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    if (
        case.operation.path == "/v1/spells"
        and not negative
        and data.draw(st.booleans(), label="real archive")
    ):
        owner = world.b if data.draw(st.booleans(), label="archive of B") else world.a
        case.body = data.draw(st.sampled_from(owner.archives))
    if _takes_input(case) and data.draw(st.booleans(), label="well-formed input"):
        case.body = {"input": {"name": data.draw(st.text(max_size=50))}}
    if isinstance(case.body, dict) and _takes_input(case):
        url = case.body.get("webhook_url")
        if (isinstance(url, str) and "//" in url) or data.draw(st.booleans(), label="webhook"):
            case.body["webhook_url"] = data.draw(st.sampled_from(_WEBHOOK_URLS))
    if "prefer" in (case.headers or {}) and data.draw(st.booleans(), label="wait"):
        case.headers["prefer"] = "wait=5"
    if (
        case.operation.path == "/v1/users/me/erase"
        and isinstance(case.body, dict)
        and case.body.get("confirm")
    ):
        # Erasing B would revoke its key: every operation fuzzed after it would meet only 401s.
        case.body["confirm"] = False


def _takes_input(case: Any) -> bool:
    """A cast, a button press or an estimate: the body carries the spell's input."""
    return str(case.operation.path).endswith(("/cast", "/estimate"))


def _error_code(response: Any) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def _negative_only_where_sent(case: Any) -> bool:
    """False when the case was made invalid in its headers, or invalid but said to be positive: the
    fuzz replaces ``Authorization`` with a real credential, so what was generated there is not what is
    sent, and its acceptance proves nothing about negative data."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return True
    data = meta.phase.data
    locations = {data.parameter_location, *(mutation.parameter_location for mutation in data.mutations)}
    return ParameterLocation.HEADER not in locations and locations != {None}


def _problem(case: Any, response: Any, forbidden: set[str]) -> str | None:
    """What is wrong with this answer, or None."""
    if response.status_code >= 500 and _error_code(response) not in _UNAVAILABLE:
        return f"{response.status_code} {response.text[:500]}"
    try:
        case.validate_response(response, checks=_CHECKS if _negative_only_where_sent(case) else _CHECKS[:-1])
    except FailureGroup as exc:
        return "; ".join(f"{failure.title}: {failure.message}" for failure in exc.exceptions)
    sent = repr((case.path_parameters, case.query, case.body, case.headers))
    # Bytes, not text: an answer may be binary (a spell's archive), and must not leak either.
    leaked = sorted(s for s in forbidden if s.encode() in response.content and s not in sent)
    return f"leaked {leaked}: {response.content[:500]!r}" if leaked else None


def _identity(case: Any, data: st.DataObject, world: World) -> tuple[dict[str, str], set[str]]:
    """Who sends this request, and what its answer must not contain.

    Mostly B; one request in ten without credentials (nothing of either tenant may show); and a quarter
    of the reads as A, whose answers must show nothing of B's but its public spells. A never writes:
    making its private spell public or sharing it through a button would be a legitimate way for B to
    see it.
    """
    draw = data.draw(st.integers(0, 99), label="identity")  # 0, the value drawn most, means B
    if draw >= 90:
        return {}, world.a.secrets | world.b.secrets
    if draw >= 65 and case.method.upper() == "GET":
        return world.a.caller.headers, world.b.secrets - {world.b.publisher}
    return world.b.caller.headers, world.a.secrets


def _fuzz(operation: Any, world: World, examples: int, failures: list[str], answered: Counter[str]) -> None:
    """Send ``examples`` generated requests to one operation; add what is wrong to ``failures``."""
    cases = st.one_of(*(operation.as_strategy(mode) for mode in GenerationMode))

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],  # failures are collected, not shrunk
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, data=st.data())
    def fuzz(case: Any, data: st.DataObject) -> None:
        _steer(case, data, world)
        headers, forbidden = _identity(case, data, world)
        case.headers = {**(case.headers or {}), **headers}
        try:
            response = case.call(timeout=30)
        except Exception as exc:  # the in-process client re-raises what the app let escape (a 500)
            problem: str | None = f"raised {type(exc).__name__}: {exc}"
        else:
            answered[f"{response.status_code // 100}xx"] += 1
            problem = _problem(case, response, forbidden)
        if problem:
            failures.append(f"{operation.label}: {problem}\n    {case.as_curl_command()}")

    fuzz()


def test_api_fuzz_finds_no_server_error_schema_mismatch_or_cross_tenant_leak(world: World) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.app)
    failures: list[str] = []
    answered: Counter[str] = Counter()
    started = time.monotonic()
    for result in schema.get_all_operations():
        if isinstance(result, Err):  # an operation the document describes so badly it cannot be fuzzed
            failures.append(f"unusable operation: {result.err()}")
            continue
        in_budget = time.monotonic() - started < _BUDGET_S
        _fuzz(
            result.ok(),
            world,
            _EXAMPLES[world.backend] if in_budget else _EXAMPLES_PAST_BUDGET,
            failures,
            answered,
        )
    summary = f"{world.backend}: {sum(answered.values())} requests in {time.monotonic() - started:.1f} s"
    print(f"API fuzz on {summary}, {dict(sorted(answered.items()))}")  # noqa: T201 - the run's size, with -s
    assert not failures, f"{summary}, {len(failures)} problems:\n" + "\n".join(failures[:40])
