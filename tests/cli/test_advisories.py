"""``spell advisories import|rescan|list`` on the embedded SQLite database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spell.cli.commands.admin._platform import open_platform
from spell.kit.time import utcnow
from spell.models import Publisher, Spell, SpellVersion, Tenant
from spell.platform.supply.repository import SupplyRepository
from spell.sbom.document import Component, Sbom
from tests.cli.run_cli import run_cli, table_rows
from tests.platform.supply.helpers import MEDIUM, osv


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SPELL_DATABASE_URL", raising=False)
    monkeypatch.setenv("SPELL_SERVER_SECRET_KEY", "cli-test-secret")
    return tmp_path / "home"


@pytest.fixture
def advisories(tmp_path: Path) -> Path:
    folder = tmp_path / "osv" / "crates.io"
    folder.mkdir(parents=True)
    (folder / "GHSA-1.json").write_text(json.dumps(osv("GHSA-1")), encoding="utf-8")
    (folder / "GHSA-2.json").write_text(
        json.dumps(osv("GHSA-2", name="tokio", vector=MEDIUM)), encoding="utf-8"
    )
    return tmp_path / "osv"


def _published_with_serde(home: Path) -> None:
    """acme/hello@1.0.0 in the grimoire, kept with an SBOM listing serde 1.0.100."""
    now = utcnow()
    sbom = Sbom(
        "cyclonedx", "1.6", "sbom.cdx.json", {}, (Component("serde", "1.0.100", "pkg:cargo/serde@1.0.100"),)
    )
    with open_platform() as platform, platform.db.unit_of_work() as uow:
        uow.session.add(Tenant(id="ten_acme", name="acme", created_at=now))
        uow.session.flush()
        uow.session.add(Publisher(name="acme", tenant_id="ten_acme", created_at=now))
        uow.session.flush()
        spell = Spell(
            id="acme/hello",
            publisher="acme",
            tenant_id="ten_acme",
            name="hello",
            tags=[],
            latest_version="1.0.0",
            created_at=now,
            updated_at=now,
        )
        version = SpellVersion(
            id="ver_1",
            spell_id="acme/hello",
            version="1.0.0",
            digest="sha256:" + "0" * 64,
            execution="wasm",
            manifest={},
            input_schema={},
            archive_size=1,
            created_at=now,
        )
        uow.session.add(spell)
        uow.session.flush()
        uow.session.add(version)
        uow.session.flush()
        SupplyRepository().put_sbom(uow, "ver_1", sbom, now)


def test_import_counts_the_records_and_flags_a_vulnerable_version_then_changes_nothing_again(
    home: Path, advisories: Path
) -> None:
    _published_with_serde(home)
    first = run_cli("advisories", "import", str(advisories), "--json")
    assert first.exit_code == 0, first.stderr
    assert first.json() == {
        "added": 2,
        "updated": 0,
        "unchanged": 0,
        "withdrawn": 0,
        "scan": {
            "scanned": 1,
            "new_findings": 1,
            "resolved_findings": 0,
            "flagged": ["acme/hello@1.0.0"],
            "delisted": [],
            "cleared": [],
        },
    }
    again = run_cli("advisories", "import", str(advisories))
    assert again.exit_code == 0, again.stderr
    assert again.stdout.splitlines() == [
        "advisories: 0 added, 0 updated, 2 unchanged (0 withdrawn)",
        "re-scan: 1 versions, 0 new findings, 0 resolved",
    ]
    assert "records read" in again.stderr  # progress, off a terminal: plain lines on stderr


def test_rescan_reports_what_changed(home: Path, advisories: Path) -> None:
    _published_with_serde(home)
    assert run_cli("advisories", "import", str(advisories)).exit_code == 0
    result = run_cli("advisories", "rescan")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["re-scan: 1 versions, 0 new findings, 0 resolved"]
    assert run_cli("advisories", "rescan", "--json").json()["scanned"] == 1


def test_import_prints_the_versions_it_flagged(home: Path, advisories: Path) -> None:
    _published_with_serde(home)
    result = run_cli("advisories", "import", str(advisories))
    assert result.stdout.splitlines()[-1] == "  flagged: acme/hello@1.0.0"


def test_list_shows_the_advisories_held(home: Path, advisories: Path) -> None:
    assert run_cli("advisories", "list").stdout.strip() == "no advisories"
    assert run_cli("advisories", "import", str(advisories)).exit_code == 0
    rows = table_rows(run_cli("advisories", "list").stdout)
    assert rows[0] == ["ID", "SEVERITY", "SCORE", "WITHDRAWN", "SUMMARY"]
    assert sorted(row[0] for row in rows[1:]) == ["GHSA-1", "GHSA-2"]
    assert {item["id"] for item in run_cli("advisories", "list", "--json").json()["items"]} == {
        "GHSA-1",
        "GHSA-2",
    }


def test_a_malformed_record_is_a_validation_error_and_nothing_is_imported(
    home: Path, advisories: Path
) -> None:
    (advisories / "crates.io" / "bad.json").write_text('{"id": "GHSA-3", "affected": 1}', encoding="utf-8")
    result = run_cli("advisories", "import", str(advisories), "--json")
    assert result.exit_code == 6
    assert result.error()["code"] == "VALIDATION_ERROR"
    assert run_cli("advisories", "list", "--json").json() == {"items": []}


def test_a_missing_path_is_a_usage_error(home: Path, tmp_path: Path) -> None:
    result = run_cli("advisories", "import", str(tmp_path / "nowhere"))
    assert result.exit_code == 2


def test_the_shipped_osv_fixture_set_imports_with_its_withdrawn_record_counted(home: Path) -> None:
    fixtures = Path(__file__).resolve().parents[1] / "assets" / "osv"
    result = run_cli("advisories", "import", str(fixtures), "--json")
    assert result.exit_code == 0, result.stderr
    counts = {key: result.json()[key] for key in ("added", "updated", "unchanged", "withdrawn")}
    assert counts == {"added": 8, "updated": 0, "unchanged": 0, "withdrawn": 1}
    held = {item["id"]: item for item in run_cli("advisories", "list", "--json").json()["items"]}
    assert held["SPELL-TEST-2024-0002"]["withdrawn_at"] is not None
    assert held["GHSA-8q59-q68h-6hv4"]["severity"] == "critical"
