from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bundle.spells import snapshot
from tests.cli.run_cli import run_cli


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_show_without_a_file_says_so_and_exits_zero(home: Path) -> None:
    result = run_cli("policy", "show")
    assert result.exit_code == 0
    assert result.stdout == f"No runtime policy configured at {home / 'policy.json'}\n"
    data = run_cli("policy", "show", "--json").json()
    assert data["configured"] is False
    assert data["policy"] == {"version": "v1", "default": "allow"}


def test_validate_and_set_write_the_normalised_file(home: Path, tmp_path: Path) -> None:
    candidate = tmp_path / "p.json"
    candidate.write_text(
        json.dumps({"version": " v1 ".strip(), "default": "deny", "publishers": {"allow": [" acme "]}})
    )
    assert run_cli("policy", "validate", "--file", str(candidate)).stdout == "policy valid\n"
    assert (
        run_cli("policy", "set", "--file", str(candidate)).stdout
        == f"policy written: {home / 'policy.json'}\n"
    )
    written = (home / "policy.json").read_text()
    assert written.endswith("}\n")
    assert json.loads(written) == {"version": "v1", "default": "deny", "publishers": {"allow": ["acme"]}}
    shown = run_cli("policy", "show", "--json").json()
    assert shown["configured"] is True
    assert shown["policy"]["publishers"] == {"allow": ["acme"]}


@pytest.mark.parametrize(
    "text",
    [
        '{"version": "v1", "default": "allow", "unknown": true}',
        "[1, 2]",
        "{",
        '{"version": "v1", "default": "x"}',
    ],
)
def test_an_invalid_policy_is_refused_and_the_current_one_kept(home: Path, tmp_path: Path, text: str) -> None:
    good = tmp_path / "good.json"
    good.write_text('{"version": "v1", "default": "allow"}')
    run_cli("policy", "set", "--file", str(good))
    before = snapshot(home)
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    for verb in ("validate", "set"):
        result = run_cli("policy", verb, "--file", str(bad), "--json")
        assert result.exit_code == 6
        assert result.error()["code"] == "INVALID_POLICY"
    assert snapshot(home) == before


def test_a_broken_policy_file_in_place_is_reported_by_show(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "policy.json").write_text('{"version": "v1"}')
    assert run_cli("policy", "show", "--json").error()["code"] == "INVALID_POLICY"


def test_validate_of_a_missing_file_is_invalid_policy(home: Path, tmp_path: Path) -> None:
    result = run_cli("policy", "validate", "--file", str(tmp_path / "absent.json"), "--json")
    assert result.error()["code"] == "INVALID_POLICY"
