"""``/v1/publishers/{publisher}/sigstore-identities`` and ``/sigstore-policy`` over HTTP, and what a
publish answers when the bundle carries (or lacks) a Sigstore bundle. Offline: the staging root is pinned.

As in tests/platform/spell/test_sigstore_publish.py, the digest stands for the artifact the real staging
bundle signs (no spell digest can equal it); the verification itself is sigstore's, offline.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx
import pytest

from spell.config.supply import SupplySettings
from spell.platform.server import Platform
from spell.platform.spell import sigstore
from spell.signing.sigstore import SIGSTORE_FILE
from tests.fixtures.bundles import archive_of, wasm_bundle
from tests.fixtures.server import Caller, seed_maker

pytestmark = pytest.mark.anyio

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "sigstore"
STAGING = ASSETS / "staging-trusted-root.json"
IDENTITY, ISSUER = "a@tny.town", "https://github.com/login/oauth"
IDENTITIES = "/v1/publishers/acme/sigstore-identities"


@pytest.fixture(autouse=True)
def pinned(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    supply = SupplySettings(sigstore_trusted_root=STAGING, sbom_required_for=())
    platform.spells.policy = dataclasses.replace(platform.spells.policy, supply=supply)
    artifact = (ASSETS / "bundle.txt").read_bytes()
    monkeypatch.setattr(sigstore, "signed_artifact", lambda _digest_hex: artifact)


async def _publish(
    client: httpx.AsyncClient, maker: Caller, tmp_path: Path, version: str, *, signed: bool = True
) -> httpx.Response:
    bundle = wasm_bundle(tmp_path / version, "acme/hello", version=version, signer=maker.publisher)
    if signed:
        (bundle / SIGSTORE_FILE).write_bytes((ASSETS / "bundle.txt.sigstore").read_bytes())
    return await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))


async def test_register_require_publish_and_revoke(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    created = await client.post(
        IDENTITIES, headers=maker.headers, json={"identity": IDENTITY, "issuer": ISSUER}
    )
    assert created.status_code == 201, created.text
    identity = created.json()
    assert {k: identity[k] for k in ("publisher", "identity", "issuer", "revoked_at")} == {
        "publisher": "acme",
        "identity": IDENTITY,
        "issuer": ISSUER,
        "revoked_at": None,
    }
    assert identity["id"].startswith("sgid")
    again = await client.post(
        IDENTITIES, headers=maker.headers, json={"identity": IDENTITY, "issuer": ISSUER}
    )
    assert (again.status_code, again.json()["error"]["code"]) == (409, "ALREADY_EXISTS")
    required = await client.put(
        "/v1/publishers/acme/sigstore-policy", headers=maker.headers, json={"required": True}
    )
    assert required.status_code == 200, required.text
    assert required.json() == {"publisher": "acme", "required": True, "items": [identity]}

    published = await _publish(client, maker, tmp_path, "1.0.0")
    assert published.status_code == 201, published.text
    assert published.json()["sigstore_identity"] == IDENTITY
    versions = await client.get("/v1/spells/acme/hello/versions", headers=maker.headers)
    assert [v["sigstore_identity"] for v in versions.json()["items"]] == [IDENTITY]

    missing = await _publish(client, maker, tmp_path, "1.0.1", signed=False)
    assert missing.status_code == 422
    error = missing.json()["error"]
    assert (error["code"], error["message"]) == (
        "SIGSTORE_INVALID",
        "publisher 'acme' requires a Sigstore bundle: spell.sigstore.json not found",
    )
    assert "python -m sigstore sign" in error["hint"]

    revoked = await client.delete(f"{IDENTITIES}/{identity['id']}", headers=maker.headers)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    refused = await _publish(client, maker, tmp_path, "1.0.2")
    assert refused.status_code == 422
    assert (
        refused.json()["error"]["message"] == "spell.sigstore.json cannot be verified: no registered identity"
    )
    listed = await client.get(IDENTITIES, headers=maker.headers)
    assert listed.status_code == 200
    assert [(i["id"], i["revoked_at"] is not None) for i in listed.json()["items"]] == [
        (identity["id"], True)
    ]
    assert listed.json()["required"] is True


async def test_a_bundle_by_another_identity_is_refused(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    body = {"identity": "b@tny.town", "issuer": ISSUER}
    assert (await client.post(IDENTITIES, headers=maker.headers, json=body)).status_code == 201
    refused = await _publish(client, maker, tmp_path, "1.0.0")
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "SIGSTORE_INVALID"
    assert error["details"]["identities"] == [body]
    unsigned = await _publish(client, maker, tmp_path, "1.0.1", signed=False)
    assert unsigned.status_code == 201, unsigned.text
    assert unsigned.json()["sigstore_identity"] is None


async def test_requiring_without_an_identity_is_a_conflict(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    maker = await seed_maker(client, platform)
    refused = await client.put(
        "/v1/publishers/acme/sigstore-policy", headers=maker.headers, json={"required": True}
    )
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert (error["code"], error["message"]) == (
        "CONFLICT",
        "publisher 'acme' has no active Sigstore identity to require",
    )
    assert error["hint"].startswith("register one: POST /v1/publishers/acme/sigstore-identities")


async def test_another_tenant_cannot_touch_the_identities(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    maker = await seed_maker(client, platform)
    other = await seed_maker(client, platform, "other@example.com", "other")
    created = await client.post(
        IDENTITIES, headers=maker.headers, json={"identity": IDENTITY, "issuer": ISSUER}
    )
    identity_id = created.json()["id"]
    attempts = [
        client.post(IDENTITIES, headers=other.headers, json={"identity": "x@y.z", "issuer": ISSUER}),
        client.get(IDENTITIES, headers=other.headers),
        client.delete(f"{IDENTITIES}/{identity_id}", headers=other.headers),
        client.put("/v1/publishers/acme/sigstore-policy", headers=other.headers, json={"required": False}),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "TENANT_FORBIDDEN"
    theirs = await client.delete(
        f"/v1/publishers/other/sigstore-identities/{identity_id}", headers=other.headers
    )
    assert theirs.status_code == 404
    assert theirs.json()["error"]["code"] == "NOT_FOUND"
    listed = await client.get(IDENTITIES, headers=maker.headers)
    assert [i["revoked_at"] for i in listed.json()["items"]] == [None]


@pytest.mark.parametrize(
    "body",
    [{"identity": "", "issuer": ISSUER}, {"identity": IDENTITY}, {"identity": IDENTITY, "issuer": "github"}],
    ids=["empty-identity", "no-issuer", "issuer-not-a-url"],
)
async def test_an_incomplete_identity_is_a_validation_error(
    client: httpx.AsyncClient, platform: Platform, body: dict[str, str]
) -> None:
    maker = await seed_maker(client, platform)
    refused = await client.post(IDENTITIES, headers=maker.headers, json=body)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_a_sigstore_bundle_the_server_cannot_check_publishes_with_a_warning(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    published = await _publish(client, maker, tmp_path, "1.0.0")
    assert published.status_code == 201, published.text
    body = published.json()
    assert body["sigstore_identity"] is None
    assert "spell.sigstore.json was not verified: no registered identity" in body["warnings"]
