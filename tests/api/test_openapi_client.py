"""The OpenAPI document is one a client generator can use: a client generated from it casts a spell."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from spell.api import create_app
from spell.config.server import ServerSettings
from spell.platform.server import Platform
from tests.fixtures.server import publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio

_UNAUTHENTICATED = {"/healthz", "/readyz", "/v1/artifacts/{artifact_id}", "/v1/webhooks/stripe"}


def _generator() -> str:
    found = shutil.which("openapi-python-client") or str(
        Path(sys.executable).with_name("openapi-python-client")
    )
    if not Path(found).exists():
        pytest.fail("openapi-python-client is not installed: run ./scripts/setup.sh (it is a dev dependency)")
    return found


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op) for path, methods in document["paths"].items() for method, op in methods.items()
    ]


async def test_every_authenticated_operation_names_the_bearer_scheme(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    for path, method, op in _operations(document):
        if path in _UNAUTHENTICATED:
            assert "security" not in op, (method, path)
        else:
            assert op.get("security") == [{"bearer": []}], (method, path)


async def test_operation_ids_are_the_handler_names_and_unique(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    ids = Counter(op["operationId"] for _path, _method, op in _operations(document))
    assert ids.most_common(1)[0][1] == 1
    assert {"cast_spell", "get_cast", "list_casts", "publish", "me"} <= set(ids)


async def test_every_error_answer_refers_to_the_one_envelope(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    assert document["components"]["schemas"]["ErrorEnvelope"]["required"] == ["ok", "error"]
    for path, method, op in _operations(document):
        for status, response in op["responses"].items():
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}, (method, path, status)


def _generate_client(document: dict[str, Any], where: Path) -> ModuleType:
    source = where / "openapi.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    package = where / "generated_spell_client"
    done = subprocess.run(
        [_generator(), "generate", "--path", str(source), "--output-path", str(package), "--meta", "none"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # Every route is generated; what the generator skips it says under WARNING.
    skipped = [line for line in done.stdout.splitlines() if "Endpoint will not be generated" in line]
    assert skipped == [], done.stdout
    for name in [name for name in sys.modules if name.split(".")[0] == "generated_spell_client"]:
        del sys.modules[name]
    sys.path.insert(0, str(where))
    try:
        return importlib.import_module("generated_spell_client")
    finally:
        sys.path.remove(str(where))


async def test_a_generated_client_casts_a_spell_and_reads_errors(
    client: httpx.AsyncClient, platform: Platform, server_settings: ServerSettings, tmp_path: Path
) -> None:
    generated = _generate_client((await client.get("/openapi.json")).json(), tmp_path)
    assert Path(generated.__file__ or "").parent == tmp_path / "generated_spell_client"
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path, "acme/hello")
    caster = seed_user(platform, "caster@example.com", ["caster"])

    app = create_app(server_settings, platform=platform, manage=False)
    transport = httpx.ASGITransport(app=app)
    api = importlib.import_module("generated_spell_client.api.casts.cast_spell")
    models = importlib.import_module("generated_spell_client.models")
    me = importlib.import_module("generated_spell_client.api.auth.me")
    clients = importlib.import_module("generated_spell_client.client")

    authed = clients.AuthenticatedClient(base_url="http://spell.test", token=caster.token)
    authed.set_async_httpx_client(
        httpx.AsyncClient(
            transport=transport,
            base_url="http://spell.test",
            headers={"Authorization": f"Bearer {caster.token}"},
        )
    )
    async with authed:
        who = await me.asyncio(client=authed)
        assert who.tenant_id == caster.tenant_id
        cast = await api.asyncio_detailed(
            "acme/hello",
            client=authed,
            body=models.CastCreate.from_dict({"input": {"name": "generated"}}),
            prefer="wait=10",
            idempotency_key="generated-client-1",
        )
        assert cast.status_code in (200, 202), cast.content
        assert cast.parsed.spell_id == "acme/hello"
        assert cast.parsed.id.startswith("cast_")

    anonymous = clients.Client(base_url="http://spell.test")
    anonymous.set_async_httpx_client(httpx.AsyncClient(transport=transport, base_url="http://spell.test"))
    async with anonymous:
        refused = await me.asyncio_detailed(client=anonymous)
    assert refused.status_code == 401
    assert refused.parsed.ok is False
    assert refused.parsed.error.code == "UNAUTHORIZED"
