from __future__ import annotations

from pathlib import Path

import pytest

from spell.kit.time import utcnow
from tests.bundle.spells import snapshot
from tests.cli.run_cli import run_cli, table_rows
from tests.signing.entitlements import make_token, trusted_issuer


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _window() -> dict[str, str]:
    year = utcnow().year
    return {"not_before": f"{year - 1}-01-01T00:00:00Z", "expires_at": f"{year + 1}-12-31T23:59:59Z"}


def test_license_lifecycle(home: Path) -> None:
    _trust, key = trusted_issuer(home / "trust" / "publishers")
    token = make_token(key, **_window())
    assert run_cli("license", "list").stdout == "No licenses\n"
    assert run_cli("license", "add", "team", token).stdout == "added license=team\n"
    listed = table_rows(run_cli("license", "list").stdout)
    assert listed[0] == [
        "name",
        "issuer",
        "mode",
        "currency",
        "max_amount",
        "expires_at",
        "revoked",
        "updated_at",
    ]
    assert listed[1][:5] == ["team", "billing", "upfront", "USD", "10"]
    assert listed[1][6] == "false"
    assert token not in run_cli("license", "list", "--json").stdout
    assert "revoked: false" in run_cli("license", "inspect", "team").stdout
    assert run_cli("license", "revoke", "team", "--reason", "refund").stdout == "revoked license=team\n"
    assert run_cli("license", "inspect", "team", "--json").json()["revoke_reason"] == "refund"
    assert run_cli("license", "restore", "team").stdout == "restored license=team\n"
    assert run_cli("license", "inspect", "team", "--json").json()["revoked"] is False
    assert run_cli("license", "remove", "team").stdout == "removed license=team\n"
    result = run_cli("license", "inspect", "team", "--json")
    assert (result.exit_code, result.error()["code"]) == (3, "LICENSE_NOT_FOUND")


def test_a_token_by_a_revoked_key_or_garbage_is_refused_and_nothing_is_stored(home: Path) -> None:
    trust, key = trusted_issuer(home / "trust" / "publishers")
    token = make_token(key, **_window())
    trust.revoke_key("billing", "k1")
    before = snapshot(home)
    for bad in (token, "ent1.nope", make_token(key, issuer="stranger", **_window())):
        result = run_cli("license", "add", "team", bad, "--json")
        assert result.exit_code == 4
        assert result.error()["code"] == "ENTITLEMENT_INVALID"
    assert snapshot(home) == before


def test_missing_licences_are_not_found_for_every_verb(home: Path) -> None:
    for verb in ("inspect", "revoke", "restore", "remove"):
        result = run_cli("license", verb, "ghost", "--json")
        assert result.exit_code == 3
        assert result.error()["code"] == "LICENSE_NOT_FOUND"


def test_add_reads_the_token_from_stdin_when_given_a_dash(home: Path) -> None:
    from click.testing import CliRunner

    from spell.cli.commands.license.add import command

    _, key = trusted_issuer(home / "trust" / "publishers")
    result = CliRunner().invoke(command, ["team", "-"], input=make_token(key, **_window()) + "\n")
    assert result.exit_code == 0, result.output
    assert run_cli("license", "inspect", "team", "--json").json()["issuer"] == "billing"
