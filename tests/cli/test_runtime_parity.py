"""Where ``spell`` and spell-runtime's CLI take the same command: the same refusal text, on the same stream.

Scripts written against spell-runtime grep stderr for its refusal sentences and read
``execution_id:`` off stdout; each test runs one of those commands and asserts the sentence (a
substring: ours adds ``error:`` before it and ``[CODE]`` after it), the stream, and our exit-code
family. docs/compat.md lists each difference kept on purpose.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from spell.config.home import SpellHome
from tests.bundle.spells import make_git_repo, write_spell
from tests.cli.run_cli import CliResult, run_cli, table_rows
from tests.local.harness import DEMO_PUBLIC, host_spell, use_home

HELLO = "#!/bin/sh\necho hello\n"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SpellHome:
    monkeypatch.delenv("SPELL_REGISTRY_REQUIRED_PINS", raising=False)
    monkeypatch.delenv("SPELL_RUNTIME_INPUT_MAX_BYTES", raising=False)
    return use_home(tmp_path, monkeypatch)


def refused(result: CliResult, text: str, exit_code: int) -> None:
    """The refusal is on stderr only, names spell-runtime's sentence, and exits with our family code."""
    assert result.exit_code == exit_code, (result.stdout, result.stderr)
    assert text in result.stderr
    assert text not in result.stdout


def _index(tmp_path: Path, spells: list[dict[str, str]]) -> str:
    path = tmp_path / "index.json"
    path.write_text(json.dumps({"version": "v1", "spells": spells}))
    return path.as_uri()


# --- install and registry ---------------------------------------------------------------


def test_install_prints_id_at_version_first_on_stdout(tmp_path: Path, home: SpellHome) -> None:
    result = run_cli("install", str(write_spell(tmp_path / "b")))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == "acme/hello@1.0.0"


def test_registry_option_on_a_local_install_is_refused_before_anything_is_read(
    tmp_path: Path, home: SpellHome
) -> None:
    bundle = write_spell(tmp_path / "b")
    refused(
        run_cli("install", str(bundle), "--registry", "mirror"),
        "--registry is only supported for registry:<id> install sources",
        6,
    )
    # the guard comes before the source is looked at: a missing folder gets the same answer
    refused(
        run_cli("install", str(tmp_path / "missing"), "--registry", "mirror"),
        "--registry is only supported for registry:<id> install sources",
        6,
    )
    assert not home.spells.exists() or not any(home.spells.iterdir())


def test_registry_install_refusals_use_spell_runtime_wording(
    tmp_path: Path, home: SpellHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_cli("registry", "set", _index(tmp_path, []))
    refused(
        run_cli("install", "registry:acme/hello@1.0.0", "--registry", "missing"),
        "registry index not found: missing",
        3,
    )
    refused(run_cli("install", "registry:acme/hello@1.0.0"), "registry entry not found: acme/hello@1.0.0", 3)
    refused(run_cli("install", "registry:acme/hello"), "registry entry not found: acme/hello@latest", 3)

    commit = make_git_repo(tmp_path / "repo")
    source = f"file://{tmp_path / 'repo'}#v1"
    run_cli("registry", "set", _index(tmp_path, [{"id": "acme/hello", "version": "1.0.0", "source": source}]))
    refused(
        run_cli("install", "registry:acme/hello@1.0.0"),
        "registry entry missing required commit pin for acme/hello@1.0.0",
        5,
    )
    monkeypatch.setenv("SPELL_REGISTRY_REQUIRED_PINS", "digest")
    refused(
        run_cli("install", "registry:acme/hello@1.0.0"),
        "registry entry missing required digest pin for acme/hello@1.0.0",
        5,
    )
    monkeypatch.setenv("SPELL_REGISTRY_REQUIRED_PINS", "commit")
    wrong = "0" * 40
    entry = {"id": "acme/hello", "version": "1.0.0", "source": source, "commit": wrong}
    run_cli("registry", "set", _index(tmp_path, [entry]))
    refused(
        run_cli("install", "registry:acme/hello@1.0.0"),
        f"registry commit mismatch: expected {wrong}, got {commit}",
        4,
    )


def test_source_refusals_use_spell_runtime_wording(home: SpellHome) -> None:
    refused(
        run_cli("install", "https://spell.example.test/repo.git"),
        "git source requires explicit ref (#<ref>)",
        6,
    )
    refused(run_cli("install", "oci:"), "invalid oci source", 6)


def test_registry_management_refusals_use_spell_runtime_wording(tmp_path: Path, home: SpellHome) -> None:
    run_cli("registry", "set", "https://r.example.test/spell-index.v1.json")
    run_cli("registry", "add", "mirror", "https://m.example.test/spell-index.v1.json")
    refused(
        run_cli("registry", "add", "mirror", "https://x.example.test/i.json"),
        "registry index already exists: mirror",
        7,
    )
    refused(
        run_cli("registry", "add", "   ", "https://x.example.test/i.json"), "invalid registry index name", 6
    )
    refused(run_cli("registry", "remove", "default"), "cannot remove registry index 'default'", 6)
    refused(run_cli("registry", "validate", "--name", "missing"), "registry index not found: missing", 3)
    missing = (tmp_path / "gone.json").as_uri()
    run_cli("registry", "set", missing)
    refused(
        run_cli("registry", "validate"),
        f"registry validation failed for 'default': failed to fetch registry index '{missing}'",
        1,
    )


def test_registry_catalog_lists_every_entry_of_the_chosen_index(tmp_path: Path, home: SpellHome) -> None:
    assert run_cli("registry", "catalog").exit_code == 3  # nothing configured yet
    pinned = {
        "id": "acme/hello",
        "version": "1.2.0",
        "source": "https://x.example.test/hello.git#v1.2.0",
        "commit": "a" * 40,
        "digest": "sha256:" + "b" * 64,
    }
    spells = [
        {"id": "acme/hello", "version": "1.0.0", "source": "https://x.example.test/hello.git#v1"},
        pinned,
    ]
    run_cli("registry", "set", _index(tmp_path, spells))
    mirror = tmp_path / "mirror.json"
    mirror.write_text(json.dumps({"version": "v1", "spells": [spells[0]]}))
    run_cli("registry", "add", "mirror", mirror.as_uri())

    data = run_cli("registry", "catalog", "--json").json()
    assert data["index"] == "default"
    assert [(e["id"], e["version"], e["commit"]) for e in data["spells"]] == [
        ("acme/hello", "1.2.0", "a" * 40),
        ("acme/hello", "1.0.0", None),
    ]
    assert table_rows(run_cli("registry", "catalog").stdout) == [
        ["id@version", "source", "commit", "digest"],
        ["acme/hello@1.2.0", pinned["source"], pinned["commit"], pinned["digest"]],
        ["acme/hello@1.0.0", spells[0]["source"], "-", "-"],
    ]
    assert [
        e["version"] for e in run_cli("registry", "catalog", "--name", "mirror", "--json").json()["spells"]
    ] == ["1.0.0"]
    refused(run_cli("registry", "catalog", "--name", "missing"), "registry index not found: missing", 3)


def test_registry_catalog_orders_ids_then_versions_highest_first(tmp_path: Path, home: SpellHome) -> None:
    src = "https://x.example.test/r.git#v"
    versions = [("b/x", "1.9.0"), ("a/y", "nightly"), ("b/x", "1.10.0"), ("a/y", "2.0.0"), ("b/x", "beta")]
    run_cli(
        "registry", "set", _index(tmp_path, [{"id": i, "version": v, "source": src} for i, v in versions])
    )
    listed = [(e["id"], e["version"]) for e in run_cli("registry", "catalog", "--json").json()["spells"]]
    assert listed == [
        ("a/y", "2.0.0"),
        ("a/y", "nightly"),
        ("b/x", "1.10.0"),
        ("b/x", "1.9.0"),
        ("b/x", "beta"),
    ]
    run_cli("registry", "set", _index(tmp_path, []))
    assert run_cli("registry", "catalog").stdout == "No spells in this index\n"


# --- cast: guard order and refusals ---------------------------------------------------


def _guarded(tmp_path: Path, name: str, *, sign: bool = True, **extra: Any) -> str:
    return host_spell(tmp_path, name, HELLO, sign=sign, **extra)


def test_each_cast_guard_refuses_in_spell_runtime_words(
    tmp_path: Path, home: SpellHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    risky = _guarded(tmp_path, "risky", risk="high")
    refused(run_cli("cast", risky), "risk high requires --yes", 5)
    billed = _guarded(
        tmp_path, "billed", billing={"enabled": True, "mode": "upfront", "currency": "USD", "max_amount": 5}
    )
    refused(run_cli("cast", billed), "billing enabled requires --allow-billing", 5)
    refused(
        run_cli("cast", billed, "--allow-billing"), "billing enabled requires matching entitlement token", 5
    )
    token = _guarded(tmp_path, "token", permissions=[{"connector": "github", "scopes": ["repo:read"]}])
    refused(run_cli("cast", token), "missing connector token CONNECTOR_GITHUB_TOKEN", 5)
    elsewhere = _guarded(tmp_path, "elsewhere", runtime={"platforms": ["plan9/mips"]})
    refused(run_cli("cast", elsewhere), "platform mismatch:", 5)
    unsigned = _guarded(tmp_path, "unsigned", sign=False)
    refused(run_cli("cast", unsigned), "signature required:", 4)
    monkeypatch.setenv("SPELL_RUNTIME_INPUT_MAX_BYTES", "8")
    result = run_cli("cast", unsigned, "--allow-unsigned", "-p", "name=world")
    refused(result, "merged input is", 1)
    assert "SPELL_RUNTIME_INPUT_MAX_BYTES=8" in result.stderr


def test_policy_refusals_in_spell_runtime_words(tmp_path: Path, home: SpellHome) -> None:
    unsigned = _guarded(tmp_path, "plain", sign=False)
    home.policy_file.write_text(json.dumps({"version": "v1", "default": "deny"}))
    refused(run_cli("cast", unsigned, "--allow-unsigned"), "policy denied: default policy is deny", 5)
    home.policy_file.write_text(
        json.dumps({"version": "v1", "default": "allow", "signature": {"require_verified": True}})
    )
    refused(
        run_cli("cast", unsigned, "--allow-unsigned"),
        "policy denied: signature status 'unsigned' is not allowed (verified required)",
        5,
    )
    mutating = _guarded(tmp_path, "deploy", effects=[{"type": "deploy", "target": "github", "mutates": True}])
    home.policy_file.write_text(
        json.dumps({"version": "v1", "default": "allow", "effects": {"deny_mutations": True}})
    )
    refused(
        run_cli("cast", mutating),
        "policy denied: effect type 'deploy' mutates target 'github' and mutations are denied",
        5,
    )


def test_guards_fire_in_spell_runtime_order(
    tmp_path: Path, home: SpellHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One spell failing every guard: each flag that clears a guard reveals the next one, in order."""
    spell = _guarded(
        tmp_path,
        "everything",
        sign=False,
        risk="critical",
        billing={"enabled": True, "mode": "upfront", "currency": "USD", "max_amount": 5},
        permissions=[{"connector": "github", "scopes": ["repo:read"]}],
        runtime={"platforms": ["plan9/mips"]},
    )
    steps = [
        ((), "signature required:"),
        (("--allow-unsigned",), "platform mismatch:"),
    ]
    for flags, text in steps:
        assert text in run_cli("cast", spell, *flags).stderr
    # the platform guard cannot be waived by a flag: the rest of the order on a spell for this host
    spell = _guarded(
        tmp_path,
        "here",
        sign=False,
        risk="critical",
        billing={"enabled": True, "mode": "upfront", "currency": "USD", "max_amount": 5},
        permissions=[{"connector": "github", "scopes": ["repo:read"]}],
    )
    order = [
        (("--allow-unsigned",), "risk critical requires --yes"),
        (("--allow-unsigned", "--yes"), "billing enabled requires --allow-billing"),
        (
            ("--allow-unsigned", "--yes", "--allow-billing"),
            "billing enabled requires matching entitlement token",
        ),
    ]
    for flags, text in order:
        assert text in run_cli("cast", spell, *flags).stderr
    home.policy_file.write_text(json.dumps({"version": "v1", "default": "deny"}))
    # policy sits between signature and platform/risk, as in spell-runtime
    assert "policy denied" in run_cli("cast", spell, "--allow-unsigned").stderr
    assert "signature required:" in run_cli("cast", spell).stderr
    home.policy_file.unlink()
    monkeypatch.setenv("SPELL_RUNTIME_INPUT_MAX_BYTES", "8")
    # input checks come before the signature guard
    assert "merged input is" in run_cli("cast", spell, "-p", "name=world").stderr


def test_cast_prints_execution_id_and_log_lines_scripts_parse(tmp_path: Path, home: SpellHome) -> None:
    spell = _guarded(tmp_path, "parsed")
    result = run_cli("cast", spell)
    assert result.exit_code == 0, result.stderr
    match = re.search(r"execution_id:\s*(.+)", result.stdout)
    assert match is not None
    execution_id = match.group(1).strip()
    assert re.fullmatch(r"exec_\S+", execution_id)
    assert f"log: {home.logs / (execution_id + '.json')}" in result.stdout
    output = run_cli("get-output", execution_id, "step.main.stdout")
    assert output.stdout == "hello\n"
    dry = run_cli("cast", spell, "--dry-run")
    dry_id = re.search(r"execution_id:\s*(.+)", dry.stdout)
    assert dry_id is not None
    assert "dry run: nothing executed" in dry.stdout
    assert run_cli("log", dry_id.group(1).strip() + ".json").exit_code == 0


def test_log_and_output_refusals_use_spell_runtime_wording(tmp_path: Path, home: SpellHome) -> None:
    missing = "exec_01JD3Q8Z4W0000000000000000"
    refused(run_cli("log", missing), f"log not found: {missing}", 3)
    refused(run_cli("log", f"{missing}.json"), f"log not found: {missing}", 3)
    result = run_cli("cast", _guarded(tmp_path, "nested"))
    execution_id = re.search(r"execution_id:\s*(.+)", result.stdout)
    assert execution_id is not None
    refused(
        run_cli("get-output", execution_id.group(1).strip(), "step.main.stdout.missing"),
        "stdout reference does not support nested path",
        6,
    )


# --- verify, trust, policy, license, list --------------------------------------------------


def test_verify_refuses_with_the_status_in_spell_runtime_words(tmp_path: Path, home: SpellHome) -> None:
    spell = _guarded(tmp_path, "bare", sign=False)
    refused(run_cli("verify", spell), "signature unsigned:", 4)
    assert run_cli("verify", spell).stdout == ""  # kept: a refusal never writes stdout
    verified = run_cli("verify", _guarded(tmp_path, "signed")).stdout.splitlines()
    assert verified[:3] == ["verified samples/signed@1.0.0", "status: verified", "publisher: samples"]


def test_trust_commands_print_spell_runtime_lines(home: SpellHome) -> None:
    assert run_cli("trust", "add", "acme", DEMO_PUBLIC, "--key-id", "k1").stdout == (
        "trusted publisher=acme key_id=k1\n"
    )
    run_cli("trust", "add", "acme", DEMO_PUBLIC, "--key-id", "k2")
    assert (
        "revoked publisher=acme key_id=k1" in run_cli("trust", "revoke-key", "acme", "--key-id", "k1").stdout
    )
    assert (
        "restored publisher=acme key_id=k1"
        in run_cli("trust", "restore-key", "acme", "--key-id", "k1").stdout
    )
    refused(
        run_cli("trust", "remove-key", "acme", "--key-id", "missing"),
        "trusted key not found: publisher=acme key_id=missing",
        3,
    )
    assert (
        "removed publisher=acme key_id=k1" in run_cli("trust", "remove-key", "acme", "--key-id", "k1").stdout
    )
    refused(run_cli("trust", "inspect", "nobody"), "trusted publisher not found: nobody", 3)
    refused(run_cli("trust", "add", "acme", "not-a-key"), "invalid public key", 6)


def test_policy_commands_print_spell_runtime_lines(tmp_path: Path, home: SpellHome) -> None:
    assert run_cli("policy", "show").stdout == f"No runtime policy configured at {home.policy_file}\n"
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"version": "v1", "default": "allow"}))
    assert run_cli("policy", "validate", "--file", str(good)).stdout == "policy valid\n"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": "v1", "default": "block"}))
    refused(
        run_cli("policy", "validate", "--file", str(bad)),
        "invalid policy: default must be 'allow' or 'deny', got 'block'",
        6,
    )
    assert run_cli("policy", "set", "--file", str(good)).stdout == f"policy written: {home.policy_file}\n"


def test_license_and_list_empty_states_and_refusals(home: SpellHome) -> None:
    assert run_cli("license", "list").stdout == "No licenses\n"
    refused(run_cli("license", "inspect", "dev"), "license not found: dev", 3)
    refused(run_cli("license", "remove", "dev"), "license not found: dev", 3)
    assert run_cli("list").stdout == "No spells installed\n"


def test_sign_keygen_prints_the_trust_add_line(tmp_path: Path, home: SpellHome) -> None:
    out = run_cli("sign", "keygen", "acme", "--key-id", "k1", "--out-dir", str(tmp_path / "keys")).stdout
    lines = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    assert lines["publisher"] == "acme"
    assert lines["key_id"] == "k1"
    assert lines["trust_add"] == f"spell trust add acme {lines['public_key_base64url']} --key-id k1"
    bundle = write_spell(tmp_path / "b")
    signed = run_cli(
        "sign", "bundle", str(bundle), "--private-key", lines["private_key"], "--key-id", "k1"
    ).stdout
    assert f"signed: {bundle / 'spell.sig.json'}" in signed
    assert re.search(r"^digest: [0-9a-f]{64}$", signed, re.MULTILINE)
