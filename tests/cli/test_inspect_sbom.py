"""``spell inspect`` shows a spell's SBOM: an installed bundle's components and licences, and a version on
the server (``server:ID[@VERSION]``) with the advisories matching it there."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from spell.client import Client
from spell.models import SpellVersion
from tests.cli.remote_world import login, private_homes
from tests.cli.run_cli import run_cli
from tests.client.live_server import LiveServer, maker_of
from tests.fixtures.bundles import cyclonedx, wasm_bundle
from tests.fixtures.live import database_backend, live
from tests.fixtures.supply import CRITICAL, add_advisory, osv_record

__all__ = ["database_backend", "live", "private_homes"]

SBOM = cyclonedx(
    ("pkg:cargo/serde@1.0.100", "1.0.100", "MIT OR Apache-2.0"),
    ("pkg:cargo/itoa@1.0.9", "1.0.9", "MIT"),
    ("pkg:generic/blob@2.0", "2.0", None),
)


def test_inspect_of_an_installed_spell_summarises_its_sbom(tmp_path: Path) -> None:
    assert run_cli("install", str(wasm_bundle(tmp_path / "b", "acme/hello", sbom=SBOM))).exit_code == 0
    data = run_cli("inspect", "acme/hello", "--json").json()
    assert data["sbom"] == {
        "path": "sbom.cdx.json",
        "format": "cyclonedx",
        "spec_version": "1.5",
        "components": 3,
        "licenses": {"MIT": 1, "MIT OR Apache-2.0": 1, "NOASSERTION": 1},
    }
    text = run_cli("inspect", "acme/hello").stdout
    assert "sbom\n  sbom.cdx.json (cyclonedx 1.5)\n  components: 3\n" in text
    assert "licenses: MIT=1, MIT OR Apache-2.0=1, NOASSERTION=1" in text
    # An SBOM that no longer reads is shown as such; the rest of the spell still is.
    (Path(data["path"]) / "sbom.cdx.json").write_text("{not json", encoding="utf-8")
    broken = run_cli("inspect", "acme/hello", "--json")
    assert broken.exit_code == 0
    assert broken.json()["sbom"]["error"]["code"] == "INVALID_SBOM"
    assert "sbom\n  invalid: INVALID_SBOM: " in run_cli("inspect", "acme/hello").stdout


def test_inspect_of_an_installed_spell_without_an_sbom_says_none(tmp_path: Path) -> None:
    run_cli("install", str(wasm_bundle(tmp_path / "b", "acme/hello", sbom=None)))
    assert run_cli("inspect", "acme/hello", "--json").json()["sbom"] is None
    assert run_cli("inspect", "acme/hello").stdout.endswith("sbom\n  (none)\n")


@pytest.fixture
def published(live: LiveServer, tmp_path: Path) -> LiveServer:
    """acme/hello 1.0.0 with ``SBOM`` and 1.1.0 without (the spell private), a critical advisory on serde
    imported after the publish, and profile ``maker`` logged in."""
    maker = maker_of(live)
    assert maker.publisher is not None
    with Client(live.url, maker.token) as client:
        client.spells.register_key("acme", maker.publisher.key_id, maker.publisher.public_key)
        bundle = wasm_bundle(tmp_path / "a", "acme/hello", signer=maker.publisher, sbom=SBOM)
        client.spells.publish(bundle, visibility="private")
        bare = wasm_bundle(tmp_path / "b", "acme/hello", version="1.1.0", signer=maker.publisher, sbom=None)
        client.spells.publish(bare)
    add_advisory(
        live.platform,
        osv_record("RUSTSEC-2099-0006", "serde", introduced="1.0.0", fixed="1.0.150", vector=CRITICAL),
    )
    login(live, maker, "maker")
    return live


def test_inspect_of_a_version_on_the_server_shows_its_sbom_and_advisories(published: LiveServer) -> None:
    result = run_cli("inspect", "server:acme/hello@1.0.0", "--profile", "maker", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert (data["id"], data["version"], data["server"]) == ("acme/hello", "1.0.0", published.url)
    assert data["sbom"]["summary"]["components"] == 3
    assert data["sbom"]["summary"]["advisories"]["critical"] == 1
    assert data["sbom"]["document"] == SBOM
    text = run_cli("inspect", "server:acme/hello", "--version", "1.0.0", "--profile", "maker").stdout
    assert "id@version: acme/hello@1.0.0" in text
    assert "  components: 3\n" in text
    assert "  advisories: critical=1\n" in text
    assert "RUSTSEC-2099-0006 critical 9.8 pkg:cargo/serde@1.0.100" in text


def test_inspect_on_the_server_says_none_without_an_sbom_and_not_found_for_no_version(
    published: LiveServer,
) -> None:
    latest = run_cli("inspect", "server:acme/hello", "--profile", "maker", "--json").json()
    assert (latest["version"], latest["sbom"]) == ("1.1.0", None)
    assert run_cli("inspect", "server:acme/hello", "--profile", "maker").stdout.endswith("sbom\n  (none)\n")
    missing = run_cli("inspect", "server:acme/hello@9.9.9", "--profile", "maker", "--json")
    assert (missing.exit_code, missing.error()["code"]) == (3, "VERSION_NOT_FOUND")


def test_inspect_on_the_server_shows_a_re_scans_flag_and_delisting(published: LiveServer) -> None:
    flagged, delist = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 15, tzinfo=UTC)
    with published.platform.db.unit_of_work() as uow:
        row = uow.session.scalars(select(SpellVersion).where(SpellVersion.version == "1.0.0")).one()
        row.flagged_at, row.delist_at = flagged, delist
    text = run_cli("inspect", "server:acme/hello@1.0.0", "--profile", "maker").stdout
    assert (
        "  flagged=2026-03-01T00:00:00.000Z delist_at=2026-03-15T00:00:00.000Z (a blocking advisory)\n"
        in text
    )
    with published.platform.db.unit_of_work() as uow:
        row = uow.session.scalars(select(SpellVersion).where(SpellVersion.version == "1.0.0")).one()
        row.delisted_at = delist
    data = run_cli("inspect", "server:acme/hello@1.0.0", "--profile", "maker", "--json").json()
    assert data["delisted_at"] == "2026-03-15T00:00:00.000Z"
    assert (
        "  delisted=2026-03-15T00:00:00.000Z "
        in run_cli("inspect", "server:acme/hello@1.0.0", "--profile", "maker").stdout
    )
