"""casts, artifacts, budget, ledger, earnings, keys and install server: against a live server."""

from __future__ import annotations

from pathlib import Path

from tests.cli.remote_world import Maker, new_caster, new_maker, private_homes, publish, write_input
from tests.cli.run_cli import run_cli
from tests.client.live_server import LiveServer
from tests.fixtures.bundles import new_publisher
from tests.fixtures.live import database_backend, live

__all__ = ["database_backend", "live", "private_homes"]


def _cast(tmp_path: Path, profile: str, document: str = '"w:a.txt"') -> str:
    source = write_input(tmp_path, document)
    result = run_cli(
        "cast", "acme/writer", "--remote", "--input", str(source), "--profile", profile, "--json"
    )
    cast_id: str = result.json()["id"]
    return cast_id


def _published(live: LiveServer, tmp_path: Path, *, priced: bool = False) -> Maker:
    maker = new_maker(live, tmp_path, priced=priced)
    assert publish(maker).exit_code == 0
    return maker


def test_casts_list_get_cancel_retry(live: LiveServer, tmp_path: Path) -> None:
    _published(live, tmp_path)
    good = _cast(tmp_path, "maker")
    bad = _cast(tmp_path, "maker", '"w:../out.txt"')
    listed = run_cli("casts", "list", "--profile", "maker", "--json").json()["items"]
    assert [c["id"] for c in listed] == [bad, good]
    failed = run_cli("casts", "list", "--status", "failed", "--limit", "5", "--profile", "maker")
    assert [line.split()[0] for line in failed.stdout.splitlines()] == ["ID", bad]
    shown = run_cli("casts", "get", good, "--profile", "maker", "--json").json()
    assert (shown["status"], [a["name"] for a in shown["artifacts"]]) == ("succeeded", ["out/a.txt"])
    human = run_cli("casts", "get", bad, "--profile", "maker")
    assert human.stdout.splitlines()[0] == f"{bad} failed (acme/writer@1.0.0)"
    assert human.stdout.splitlines()[-1].startswith("error: ")
    ended = run_cli("casts", "cancel", good, "--profile", "maker", "--json")
    assert (ended.exit_code, ended.error()["code"]) == (7, "ALREADY_TERMINAL")
    retried = run_cli("casts", "retry", bad, "--profile", "maker", "--json")
    assert retried.exit_code == 0, retried.stderr
    assert retried.json()["retry_of"] == bad
    not_retryable = run_cli("casts", "retry", good, "--profile", "maker", "--json")
    assert (not_retryable.exit_code, not_retryable.error()["code"]) == (7, "NOT_RETRYABLE")
    missing = run_cli("casts", "get", "cast_missing", "--profile", "maker", "--json")
    assert missing.exit_code == 3


def test_logs_of_an_ended_cast_and_the_end_it_reached(live: LiveServer, tmp_path: Path) -> None:
    _published(live, tmp_path)
    cast_id = _cast(tmp_path, "maker")
    logs = run_cli("casts", "logs", cast_id, "--profile", "maker", "--json")
    assert logs.exit_code == 0, logs.stderr
    assert (logs.json()["status"], logs.json()["cast_id"]) == ("succeeded", cast_id)
    followed = run_cli("casts", "logs", cast_id, "-f", "--profile", "maker")
    assert followed.stderr == f"spell: cast {cast_id} succeeded\n"


def test_artifacts_get_to_stdout_and_an_unknown_name(live: LiveServer, tmp_path: Path) -> None:
    _published(live, tmp_path)
    cast_id = _cast(tmp_path, "maker")
    piped = run_cli("artifacts", "get", cast_id, "out/a.txt", "-o", "-", "--profile", "maker")
    assert (piped.exit_code, piped.stdout) == (0, "x")
    unknown = run_cli("artifacts", "get", cast_id, "out/b.txt", "--profile", "maker", "--json")
    assert (unknown.exit_code, unknown.error()["details"]["artifacts"]) == (3, ["out/a.txt"])


def test_budget_ledger_and_earnings(live: LiveServer, tmp_path: Path) -> None:
    _published(live, tmp_path, priced=True)
    new_caster(live)
    caps = run_cli("budget", "set", "--daily", "5", "--per-cast", "0.50", "--profile", "caster", "--json")
    assert caps.exit_code == 0, caps.stderr
    assert (caps.json()["caps"]["daily_micros"], caps.json()["caps"]["per_cast_micros"]) == (
        5_000_000,
        500_000,
    )
    _cast(tmp_path, "caster")
    shown = run_cli("budget", "show", "--profile", "caster")
    assert shown.stdout.splitlines()[:2] == ["balance: 0.75 USD", "per-cast cap: 0.50 USD"]
    postings = run_cli("ledger", "list", "--profile", "caster", "--json").json()["items"]
    assert sum(p["amount_micros"] for p in postings if p["account"] == "wallet") == 750_000
    earned = run_cli("earnings", "--profile", "maker", "--json").json()
    assert [(s["spell_id"], s["casts"]) for s in earned["spells"]] == [("acme/writer", 1)]
    assert "acme/writer  1" in run_cli("earnings", "--profile", "maker").stdout


def test_keys_create_list_revoke_on_the_server(live: LiveServer, tmp_path: Path) -> None:
    new_caster(live)
    made = run_cli("keys", "create", "--name", "ci", "--scope", "spell:read", "--profile", "caster", "--json")
    assert made.exit_code == 0, made.stderr
    key = made.json()
    assert key["token"].startswith("sk_live_")
    assert key["scopes"] == ["spell:read"]
    listed = run_cli("keys", "list", "--profile", "caster", "--json").json()["items"]
    assert key["id"] in [k["id"] for k in listed]
    assert all("token" not in k for k in listed)
    revoked = run_cli("keys", "revoke", key["id"], "--profile", "caster", "--json")
    assert revoked.json()["revoked_at"] is not None
    user_key = run_cli("keys", "create", "someone@example.com", "--profile", "caster", "--json")
    assert (user_key.exit_code, user_key.error()["code"]) == (6, "VALIDATION_ERROR")


def test_install_from_the_server_verifies_locally(live: LiveServer, tmp_path: Path) -> None:
    maker = _published(live, tmp_path)
    installed = run_cli("install", "server:acme/writer", "--profile", "maker", "--json")
    assert installed.exit_code == 0, installed.stderr
    record = installed.json()
    assert (record["id"], record["version"], record["status"]) == ("acme/writer", "1.0.0", "installed")
    source = record["source"]
    assert (source["type"], source["source"], source["signature"]) == (
        "archive",
        "server:acme/writer",
        "untrusted",
    )
    assert source["url"] == f"{live.url}/v1/spells/acme/writer/versions/1.0.0/archive"
    assert maker.caller.publisher is not None
    trusted = run_cli("trust", "add", "acme", maker.caller.publisher.public_key, "--key-id", "k1")
    assert trusted.exit_code == 0, trusted.stderr
    again = run_cli("install", "server:acme/writer@1.0.0", "--profile", "maker", "--json", "--force")
    assert again.json()["source"]["signature"] == "verified"
    assert again.json()["source"]["digest"] == source["digest"]


def test_install_from_the_server_of_an_unknown_version_or_a_bad_source(
    live: LiveServer, tmp_path: Path
) -> None:
    _published(live, tmp_path)
    missing = run_cli("install", "server:acme/writer@9.9.9", "--profile", "maker", "--json")
    assert (missing.exit_code, missing.error()["code"]) == (3, "VERSION_NOT_FOUND")
    bad = run_cli("install", "server:writer", "--profile", "maker", "--json")
    assert (bad.exit_code, bad.error()["code"]) == (6, "VALIDATION_ERROR")
    assert run_cli("list", "--json").json() == []


def test_publish_refuses_what_it_cannot_register(live: LiveServer, tmp_path: Path) -> None:
    maker = new_maker(live, tmp_path)
    elsewhere = tmp_path / "no-keys"
    elsewhere.mkdir()
    no_key = run_cli(
        "publish", str(maker.bundle), "--keys-dir", str(elsewhere), "--profile", "maker", "--json"
    )
    assert (no_key.exit_code, no_key.error()["code"]) == (4, "SIGNATURE_UNTRUSTED")
    other = new_publisher("acme", "k1").public_key
    wrong = run_cli("publish", str(maker.bundle), "--public-key", other, "--profile", "maker", "--json")
    assert (wrong.exit_code, wrong.error()["code"]) == (4, "SIGNATURE_INVALID")
    (maker.bundle / "spell.sig.json").unlink()
    unsigned = publish(maker, "--json")
    assert (unsigned.exit_code, unsigned.error()["code"]) == (4, "SIGNATURE_MISSING")
    nothing = run_cli("install", "server:acme/writer", "--profile", "maker", "--json")
    assert (nothing.exit_code, nothing.error()["code"]) == (3, "SPELL_NOT_FOUND")
