"""Downloading a published version: the archive as published, verified locally like any install."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from spell.bundle.archive import unpack_archive
from spell.bundle.loaders import load_manifest
from spell.platform.server import Platform
from spell.signing.trust import TrustStore
from spell.signing.verifier import check_bundle_signature
from tests.server_fixtures import publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio

ARCHIVE = "/v1/spells/acme/hello/versions/1.0.0/archive"


async def test_the_archive_is_the_published_bundle_and_its_signature_verifies_locally(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    published = await publish(client, maker, tmp_path)
    caster = seed_user(platform, "caster@example.com", ["caster"])

    response = await client.get(ARCHIVE, headers=caster.headers)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-tar"
    assert response.headers["x-spell-digest"] == published["digest"]
    assert 'filename="acme-hello-1.0.0.tar"' in response.headers["content-disposition"]
    bundle = tmp_path / "downloaded"
    unpack_archive(response.content, bundle)
    trust = TrustStore(tmp_path / "trust")
    assert maker.publisher is not None
    trust.add_key("acme", maker.publisher.public_key, key_id=maker.publisher.key_id)
    report = check_bundle_signature(bundle, load_manifest(bundle), trust)
    assert report.status == "verified"
    assert f"sha256:{report.digest}" == published["digest"]
    assert (await client.get(ARCHIVE, headers=caster.headers)).content == response.content


async def test_another_tenants_private_spell_and_unknown_versions_are_not_found(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    await client.patch("/v1/spells/acme/hello", headers=maker.headers, json={"visibility": "private"})
    other = seed_user(platform, "other@example.com", ["caster"])

    hidden = await client.get(ARCHIVE, headers=other.headers)
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "SPELL_NOT_FOUND"
    assert (await client.get(ARCHIVE, headers=maker.headers)).status_code == 200
    unknown = await client.get("/v1/spells/acme/hello/versions/9.9.9/archive", headers=maker.headers)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "VERSION_NOT_FOUND"


async def test_a_suspended_spell_is_not_handed_out(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    operator = seed_user(platform, "ops@example.com", ["operator"])
    await client.post(
        "/v1/admin/spells/acme/hello/suspend", headers=operator.headers, json={"reason": "malware"}
    )

    refused = await client.get(ARCHIVE, headers=maker.headers)

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "SPELL_SUSPENDED"
    assert refused.json()["error"]["details"]["reason"] == "malware"


async def test_downloading_needs_credentials_and_the_read_scope(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    narrow = seed_user(platform, "narrow@example.com", ["caster"], scopes=["cast:invoke"])

    assert (await client.get(ARCHIVE)).status_code == 401
    forbidden = await client.get(ARCHIVE, headers=narrow.headers)
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "FORBIDDEN"
    assert forbidden.json()["error"]["details"] == {"required_scope": "spell:read"}
