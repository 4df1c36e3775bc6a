"""``GET /v1/spells/{id}/versions/{v}/sbom`` and the publish answer's warnings, through the real app."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from spell.platform.server import Platform
from tests.fixtures.bundles import archive_of, cyclonedx, wasm_bundle
from tests.fixtures.server import Caller, publish, seed_maker, seed_user
from tests.fixtures.supply import CRITICAL, MEDIUM, add_advisory, osv_record

pytestmark = pytest.mark.anyio

SBOM = cyclonedx(
    ("pkg:cargo/serde@1.0.100", "1.0.100", "MIT OR Apache-2.0"),
    ("pkg:cargo/itoa@1.0.9", "1.0.9", "MIT"),
    ("pkg:cargo/ryu@1.0.15", "1.0.15", "MIT"),
    ("pkg:generic/blob@2.0", "2.0", None),
)
ROUTE = "/v1/spells/acme/hello/versions/1.0.0/sbom"


async def test_the_sbom_comes_back_with_counts_of_components_licences_and_matching_advisories(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    published = await publish(client, maker, tmp_path, sbom=SBOM)
    assert published["warnings"] == []
    # Imported after the publish: the endpoint matches advisories when asked.
    add_advisory(
        platform, osv_record("RUSTSEC-2099-0003", "serde", introduced="1.0.0", fixed="1.0.150", vector=MEDIUM)
    )
    add_advisory(
        platform, osv_record("RUSTSEC-2099-0004", "ryu", introduced="1.0.0", fixed="1.0.10", vector=CRITICAL)
    )
    caster = seed_user(platform, "caster@example.com", ["caster"])
    response = await client.get(ROUTE, headers=caster.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["spell_id"], body["version"], body["format"], body["spec_version"]) == (
        "acme/hello",
        "1.0.0",
        "cyclonedx",
        "1.5",
    )
    assert body["document"] == SBOM
    assert body["summary"] == {
        "components": 4,
        "advisories": {"critical": 0, "high": 0, "medium": 1, "low": 0, "none": 0, "unknown": 0},
        "licenses": {"MIT": 2, "MIT OR Apache-2.0": 1, "NOASSERTION": 1},
    }
    [advisory] = body["advisories"]
    assert advisory["advisory_id"] == "RUSTSEC-2099-0003"
    assert advisory["component"] == "pkg:cargo/serde@1.0.100"
    assert (advisory["severity"], advisory["blocking"]) == ("medium", False)


async def test_the_publish_answer_carries_the_gates_warnings(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    add_advisory(
        platform, osv_record("RUSTSEC-2099-0003", "serde", introduced="1.0.0", fixed="1.0.150", vector=MEDIUM)
    )
    published = await publish(client, maker, tmp_path, sbom=SBOM)
    assert len(published["warnings"]) == 1
    assert "RUSTSEC-2099-0003" in published["warnings"][0]


async def test_publishing_a_public_spell_without_an_sbom_is_a_422(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    assert maker.publisher is not None
    bundle = wasm_bundle(tmp_path / "b", "acme/hello", signer=maker.publisher, sbom=None)
    response = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "SBOM_REQUIRED"


async def _private_without_sbom(client: httpx.AsyncClient, platform: Platform, tmp_path: Path) -> Caller:
    maker = await seed_maker(client, platform)
    assert maker.publisher is not None
    bundle = wasm_bundle(tmp_path / "b", "acme/hello", signer=maker.publisher, sbom=None)
    response = await client.post(
        "/v1/spells", headers=maker.headers, content=archive_of(bundle), params={"visibility": "private"}
    )
    assert response.status_code == 201, response.text
    return maker


async def test_a_version_without_an_sbom_is_sbom_not_found(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await _private_without_sbom(client, platform, tmp_path)
    response = await client.get(ROUTE, headers=maker.headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "SBOM_NOT_FOUND"
    missing = await client.get("/v1/spells/acme/hello/versions/9.9.9/sbom", headers=maker.headers)
    assert missing.json()["error"]["code"] == "VERSION_NOT_FOUND"


async def test_making_a_spell_without_an_sbom_public_is_refused(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await _private_without_sbom(client, platform, tmp_path)
    response = await client.patch(
        "/v1/spells/acme/hello", headers=maker.headers, json={"visibility": "public"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "SBOM_REQUIRED"


async def test_another_tenants_private_spell_has_no_sbom_to_read(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path, sbom=SBOM)
    changed = await client.patch(
        "/v1/spells/acme/hello", headers=maker.headers, json={"visibility": "private"}
    )
    assert changed.status_code == 200, changed.text
    assert (await client.get(ROUTE, headers=maker.headers)).status_code == 200
    stranger = seed_user(platform, "stranger@example.com", ["caster"])
    response = await client.get(ROUTE, headers=stranger.headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "SPELL_NOT_FOUND"


async def test_reading_an_sbom_needs_the_spell_read_scope(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path, sbom=SBOM)
    narrow = seed_user(platform, "narrow@example.com", ["caster"], scopes=["cast:invoke"])
    response = await client.get(ROUTE, headers=narrow.headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
