"""spell publish runs the local supply-chain verdict before anything is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from spell.signing.signature import sign_bundle
from tests.cli.remote_world import Maker, new_maker, private_homes, publish
from tests.cli.run_cli import run_cli
from tests.client.live_server import LiveServer
from tests.fixtures.live import database_backend, live

__all__ = ["database_backend", "live", "private_homes"]

OSV = str(Path(__file__).resolve().parents[1] / "assets" / "osv")


@pytest.fixture(autouse=True)
def _no_supply_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SBOM_REQUIRED_FOR", "BLOCK_SCORE", "LICENSE_ALLOW", "LICENSE_DENY"):
        monkeypatch.delenv(f"SPELL_SUPPLY_{name}", raising=False)


def _with_components(maker: Maker, components: str) -> None:
    """Give the maker's bundle an SBOM listing ``components`` and sign it again."""
    for old in maker.bundle.glob("sbom.*.json"):
        old.unlink()
    with (maker.bundle / "spell.yaml").open("a", encoding="utf-8") as manifest:
        manifest.write(components)
    assert run_cli("sbom", "generate", str(maker.bundle)).exit_code == 0
    assert maker.caller.publisher is not None
    sign_bundle(maker.bundle, maker.caller.publisher.private_key, key_id=maker.caller.publisher.key_id)


def test_a_critical_advisory_stops_publish_before_upload(live: LiveServer, tmp_path: Path) -> None:
    maker = new_maker(live, tmp_path)
    _with_components(maker, "components:\n  - {name: pyyaml, version: '5.3', type: pypi}\n")
    refused = publish(maker, "--advisories", OSV, "--json")
    assert (refused.exit_code, refused.error()["code"]) == (6, "VULNERABLE_DEPENDENCY")
    assert refused.stdout == ""
    missing = run_cli("install", "server:acme/writer", "--profile", "maker", "--json")
    assert (missing.exit_code, missing.error()["code"]) == (3, "SPELL_NOT_FOUND")
    # The server has no advisories: the refusal above was the local one.
    assert publish(maker, "--json").exit_code == 0


def test_publish_shows_the_local_warnings_and_uploads(live: LiveServer, tmp_path: Path) -> None:
    maker = new_maker(live, tmp_path)
    _with_components(maker, "components:\n  - {name: minimist, version: 1.2.0, type: npm}\n")
    result = publish(maker, "--advisories", OSV)
    assert result.exit_code == 0, result.stderr
    assert "warning: pkg:npm/minimist@1.2.0 is affected by GHSA-vh95-rmgr-6w4m" in result.stderr
    assert result.stdout.startswith("published acme/writer@1.0.0")
    assert "key acme/k1: registered" in result.stderr


def test_publish_of_a_public_spell_without_an_sbom_stops_locally(live: LiveServer, tmp_path: Path) -> None:
    maker = new_maker(live, tmp_path)
    for old in maker.bundle.glob("sbom.*.json"):
        old.unlink()
    assert maker.caller.publisher is not None
    sign_bundle(maker.bundle, maker.caller.publisher.private_key, key_id=maker.caller.publisher.key_id)
    refused = publish(maker)
    assert refused.exit_code == 6
    assert "[SBOM_REQUIRED]" in refused.stderr
    assert "key acme/k1" not in refused.stderr  # stopped before the key was registered
