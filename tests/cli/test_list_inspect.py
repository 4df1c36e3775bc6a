from __future__ import annotations

from pathlib import Path

import pytest

from spell.kit.encoding import storage_key
from tests.bundle.spells import write_spell
from tests.cli.run_cli import run_cli, table_rows


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_list_is_empty_then_shows_each_version(home: Path, tmp_path: Path) -> None:
    assert run_cli("list").stdout == "No spells installed\n"
    assert run_cli("list", "--json").json() == []
    run_cli("install", str(write_spell(tmp_path / "a", version="1.0.0")))
    run_cli("install", str(write_spell(tmp_path / "b", version="1.1.0")))
    rows = table_rows(run_cli("list").stdout)
    assert rows[0] == ["id@version", "name", "risk", "billing.enabled", "runtime.execution", "signature"]
    assert rows[1:] == [
        ["acme/hello@1.0.0", "Hello", "low", "false", "host", "unsigned"],
        ["acme/hello@1.1.0", "Hello", "low", "false", "host", "unsigned"],
    ]


def test_inspect_shows_the_highest_version_or_the_one_asked_for(home: Path, tmp_path: Path) -> None:
    run_cli("install", str(write_spell(tmp_path / "a", version="1.0.0")))
    run_cli("install", str(write_spell(tmp_path / "b", version="1.1.0")))
    assert run_cli("inspect", "acme/hello", "--json").json()["version"] == "1.1.0"
    data = run_cli("inspect", "acme/hello", "--version", "1.0.0", "--json").json()
    assert data["manifest"]["runtime"]["execution"] == "host"
    assert data["source"]["type"] == "local"
    text = run_cli("inspect", "acme/hello").stdout
    assert "id@version: acme/hello@1.1.0" in text
    assert "signature=unsigned" in text


def test_inspect_errors_use_not_found_codes(home: Path, tmp_path: Path) -> None:
    result = run_cli("inspect", "acme/nothing", "--json")
    assert (result.exit_code, result.error()["code"]) == (3, "SPELL_NOT_FOUND")
    run_cli("install", str(write_spell(tmp_path / "a")))
    result = run_cli("inspect", "acme/hello", "--version", "9.0.0", "--json")
    assert (result.exit_code, result.error()["code"]) == (3, "VERSION_NOT_FOUND")


def test_a_tampered_id_file_is_reported_by_list_and_inspect(home: Path, tmp_path: Path) -> None:
    run_cli("install", str(write_spell(tmp_path / "a")))
    (home / "spells" / storage_key("acme/hello") / "spell.id.txt").write_text("acme/other\n")
    for args in (("list", "--json"), ("inspect", "acme/hello", "--json")):
        result = run_cli(*args)
        assert result.exit_code == 7
        assert result.error()["code"] == "STORE_INCONSISTENT"
