"""The SDK's view of the supply chain: a publish's warnings and a version's SBOM, sync and async."""

from __future__ import annotations

from pathlib import Path

import pytest

from spell.client import AsyncClient, Client
from spell.platform.spell.errors import SbomNotFound
from tests.client.live_server import LiveServer, maker_of
from tests.fixtures.bundles import cyclonedx, wasm_bundle
from tests.fixtures.supply import MEDIUM, add_advisory, osv_record

SBOM = cyclonedx(("pkg:cargo/serde@1.0.100", "1.0.100", "MIT"), ("pkg:cargo/itoa@1.0.9", "1.0.9", "MIT"))


def test_publish_warns_and_the_sbom_reads_back_with_its_counts(live: LiveServer, tmp_path: Path) -> None:
    add_advisory(
        live.platform,
        osv_record("RUSTSEC-2099-0005", "serde", introduced="1.0.0", fixed="1.0.150", vector=MEDIUM),
    )
    maker = maker_of(live)
    assert maker.publisher is not None
    with Client(live.url, maker.token) as client:
        client.spells.register_key("acme", maker.publisher.key_id, maker.publisher.public_key)
        published = client.spells.publish(
            wasm_bundle(tmp_path / "b", "acme/hello", signer=maker.publisher, sbom=SBOM)
        )
        assert [w for w in published.warnings if "RUSTSEC-2099-0005" in w] == published.warnings
        assert len(published.warnings) == 1
        served = client.spells.sbom("acme/hello", "1.0.0")
    assert served.document == SBOM
    assert served.summary.components == 2
    assert served.summary.licenses == {"MIT": 2}
    assert served.summary.advisories["medium"] == 1
    assert [a.advisory_id for a in served.advisories] == ["RUSTSEC-2099-0005"]


@pytest.mark.anyio
async def test_the_async_client_reads_an_sbom_and_raises_for_a_version_without_one(
    live: LiveServer, tmp_path: Path
) -> None:
    maker = maker_of(live)
    assert maker.publisher is not None
    async with AsyncClient(live.url, maker.token) as client:
        await client.spells.register_key("acme", maker.publisher.key_id, maker.publisher.public_key)
        await client.spells.publish(
            wasm_bundle(tmp_path / "a", "acme/hello", signer=maker.publisher, sbom=SBOM)
        )
        served = await client.spells.sbom("acme/hello", "1.0.0")
        assert served.summary.components == 2
        await client.spells.publish(
            wasm_bundle(tmp_path / "b", "acme/bare", signer=maker.publisher, sbom=None), visibility="private"
        )
        with pytest.raises(SbomNotFound) as missing:
            await client.spells.sbom("acme/bare", "1.0.0")
    assert missing.value.code == "SBOM_NOT_FOUND"
