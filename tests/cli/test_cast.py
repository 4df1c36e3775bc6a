from __future__ import annotations

import json
from pathlib import Path

import pytest

from spell.config.home import SpellHome
from spell.signing.trust import TrustStore
from tests.bundle.factories import COMPAT, compat_expected, copy_compat_bundle
from tests.cli.run_cli import run_cli
from tests.local.harness import host_spell, install, use_home

ECHO_INPUT = '#!/bin/sh\ncat "$INPUT_JSON"\n'


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SpellHome:
    return use_home(tmp_path, monkeypatch)


def test_compat_bundle_casts_to_hello_world(tmp_path: Path, home: SpellHome) -> None:
    expected = compat_expected()
    TrustStore(home.trust).add_key("compat", expected["public_key_base64url"], key_id="k1")
    install(copy_compat_bundle(tmp_path / "greet"), sign=False)
    result = run_cli("cast", "compat/greet", "-p", "name=world", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["outputs"]["step.greet.stdout"] == expected["cast_stdout"]
    assert (COMPAT / "greet").is_dir()


def test_unknown_spell_is_spell_not_found(home: SpellHome) -> None:
    result = run_cli("cast", "samples/nope", "--json")
    assert result.exit_code == 3
    assert result.error()["code"] == "SPELL_NOT_FOUND"


def test_params_are_json_when_they_parse_and_dot_paths_nest(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "echo", ECHO_INPUT)
    input_file = tmp_path / "in.json"
    input_file.write_text('{"a": {"keep": 1}, "b": "file"}')
    result = run_cli(
        "cast", spell, "--input", str(input_file), "-p", "a.n=3", "-p", "b=x=y", "-p", "c=[1,true]", "--json"
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.json()["outputs"]["step.main.stdout"]) == {
        "a": {"keep": 1, "n": 3},
        "b": "x=y",
        "c": [1, True],
    }


def test_malformed_param_is_refused_after_resolve(tmp_path: Path, home: SpellHome) -> None:
    assert run_cli("cast", "samples/x", "-p", "novalue", "--json").error()["code"] == "SPELL_NOT_FOUND"
    spell = host_spell(tmp_path, "echo", ECHO_INPUT)
    assert run_cli("cast", spell, "-p", "novalue", "--json").error()["code"] == "VALIDATION_ERROR"


def test_input_over_the_size_cap_is_refused(
    tmp_path: Path, home: SpellHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    spell = host_spell(tmp_path, "echo", ECHO_INPUT)
    monkeypatch.setenv("SPELL_RUNTIME_INPUT_MAX_BYTES", "40")
    result = run_cli("cast", spell, "-p", "text=" + "x" * 60, "--json")
    assert result.exit_code != 0
    assert result.error()["code"] == "PAYLOAD_TOO_LARGE"


def test_schema_errors_are_all_listed(tmp_path: Path, home: SpellHome) -> None:
    schema = json.dumps(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {"n": {"type": "integer"}, "s": {"type": "string"}},
            "required": ["n", "s"],
        }
    )
    spell = host_spell(tmp_path, "typed", ECHO_INPUT, schema=schema)
    result = run_cli("cast", spell, "-p", "n=oops", "--json")
    error = result.error()
    assert result.exit_code == 6
    assert error["code"] == "VALIDATION_ERROR"
    assert len(error["details"]["errors"]) == 2


@pytest.mark.parametrize("param", ["n=NaN", "n=9007199254740993", "n=1e400"])
def test_input_a_server_would_refuse_as_not_strict_json_is_refused_here_too(
    tmp_path: Path, home: SpellHome, param: str
) -> None:
    spell = host_spell(tmp_path, "echo", ECHO_INPUT)
    result = run_cli("cast", spell, "-p", param, "--json")
    assert result.exit_code == 6
    error = result.error()
    assert (error["code"], error["message"]) == ("VALIDATION_ERROR", "the input is not acceptable JSON")
    assert error["details"]["errors"][0]["path"] == "input/n"


def test_unsigned_spell_is_refused_unless_allowed(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "unsigned", ECHO_INPUT, sign=False)
    refused = run_cli("cast", spell, "--json")
    assert refused.exit_code == 4
    assert refused.error()["code"] == "SIGNATURE_MISSING"
    allowed = run_cli("cast", spell, "--allow-unsigned", "--json")
    assert allowed.exit_code == 0, allowed.stderr
    forced = run_cli("cast", spell, "--allow-unsigned", "--require-signature", "--json")
    assert forced.error()["code"] == "SIGNATURE_MISSING"


def test_untrusted_signer_is_refused(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "untrusted", ECHO_INPUT)
    TrustStore(home.trust).remove("samples")
    assert run_cli("cast", spell, "--json").error()["code"] == "SIGNATURE_UNTRUSTED"


def test_tampered_bundle_is_refused_even_with_allow_unsigned(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "tampered", ECHO_INPUT)
    installed = next(home.spells.rglob("steps/main.sh"))
    installed.write_text('#!/bin/sh\necho "evil"\n')
    result = run_cli("cast", spell, "--allow-unsigned", "--json")
    assert result.error()["code"] == "SIGNATURE_INVALID"


def test_policy_require_verified_wins_over_allow_unsigned(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "unsigned", ECHO_INPUT, sign=False)
    home.policy_file.write_text(
        json.dumps({"version": "v1", "default": "allow", "signature": {"require_verified": True}})
    )
    result = run_cli("cast", spell, "--allow-unsigned", "--json")
    assert result.exit_code == 5
    assert result.error()["code"] == "POLICY_DENIED"


def test_policy_deny_list_refuses(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "denied", ECHO_INPUT)
    home.policy_file.write_text(
        json.dumps({"version": "v1", "default": "allow", "spells": {"deny": [spell]}})
    )
    assert run_cli("cast", spell, "--json").error()["code"] == "POLICY_DENIED"


def test_target_mismatch_is_refused_and_x64_aliases_amd64(tmp_path: Path, home: SpellHome) -> None:
    other = host_spell(tmp_path, "other", ECHO_INPUT, runtime={"platforms": ["darwin/arm64"]})
    assert run_cli("cast", other, "--json").error()["code"] == "PLATFORM_MISMATCH"
    from spell.local.preflight import host_target, target_matches

    assert target_matches(("linux/x64",), "linux/amd64")
    assert target_matches(("Linux/aarch64",), "linux/arm64")
    assert host_target().startswith("linux/")


def test_high_risk_needs_yes(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "risky", ECHO_INPUT, risk="critical")
    refused = run_cli("cast", spell, "--json")
    assert refused.exit_code == 5
    assert refused.error()["code"] == "CONFIRMATION_REQUIRED"
    assert run_cli("cast", spell, "--yes", "--json").exit_code == 0


def test_billed_spell_needs_the_flag_and_an_entitlement(tmp_path: Path, home: SpellHome) -> None:
    billing = {"enabled": True, "mode": "upfront", "currency": "USD", "max_amount": 5}
    spell = host_spell(tmp_path, "paid", ECHO_INPUT, billing=billing)
    without_flag = run_cli("cast", spell, "--json").error()
    assert without_flag["code"] == "ENTITLEMENT_REQUIRED"
    without_licence = run_cli("cast", spell, "--allow-billing", "--json").error()
    assert without_licence["code"] == "ENTITLEMENT_REQUIRED"
    assert without_licence["details"]["mode"] == "upfront"


def test_missing_connector_token_is_refused_and_present_one_is_passed(
    tmp_path: Path, home: SpellHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    permissions = [{"connector": "git-hub", "scopes": ["repo:read"]}]
    spell = host_spell(
        tmp_path, "conn", '#!/bin/sh\necho "${CONNECTOR_GIT_HUB_TOKEN:+set}"\n', permissions=permissions
    )
    missing = run_cli("cast", spell, "--json")
    assert missing.error()["code"] == "CONNECTOR_TOKEN_MISSING"
    monkeypatch.setenv("CONNECTOR_GIT_HUB_TOKEN", "tok-value-1234")
    ok = run_cli("cast", spell, "--json")
    assert ok.json()["outputs"]["step.main.stdout"] == "set\n"


def test_checks_run_in_the_documented_order(tmp_path: Path, home: SpellHome) -> None:
    # unsigned, critical and for another platform: the signature refusal comes first
    spell = host_spell(
        tmp_path, "many", ECHO_INPUT, sign=False, risk="critical", runtime={"platforms": ["darwin/arm64"]}
    )
    assert run_cli("cast", spell, "--json").error()["code"] == "SIGNATURE_MISSING"
    assert run_cli("cast", spell, "--allow-unsigned", "--json").error()["code"] == "PLATFORM_MISMATCH"


def test_dry_run_stops_after_the_summary(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "dry", "#!/bin/sh\necho ran\n")
    result = run_cli("cast", spell, "--dry-run", "--json")
    data = result.json()
    assert result.exit_code == 0
    assert data["dry_run"] is True
    assert data["outputs"] == {}
    assert data["summary"]["id"] == spell
    log = run_cli("log", data["execution_id"], "--json").json()
    assert log["dry_run"] is True
    assert log["steps"] == []


def test_human_output_shows_summary_and_outputs(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "human", "#!/bin/sh\necho hi there\n")
    result = run_cli("cast", spell, "--verbose")
    assert "=== Execution Summary ===" in result.stdout
    assert "hi there" in result.stdout
    assert "spell: check signature" in result.stderr
    assert "spell: step main: succeeded" in result.stderr


def test_log_and_get_output_read_back_a_cast(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "out", '#!/bin/sh\necho \'{"items": [{"id": 7}]}\'\n')
    execution_id = run_cli("cast", spell, "--json").json()["execution_id"]
    log = run_cli("log", execution_id, "--json").json()
    assert log["signature"]["status"] == "verified"
    assert log["steps"][0]["exit_code"] == 0
    assert log["usage"]["wall_ms"] > 0
    assert "peak_memory_bytes" in log["usage"]
    assert "cpu_ms" in log["usage"]
    assert run_cli("log", execution_id).exit_code == 0
    stdout = run_cli("get-output", execution_id, "step.main.stdout")
    assert stdout.stdout == '{"items": [{"id": 7}]}\n'
    path = run_cli("get-output", execution_id, "step.main.json.items.0.id", "--json")
    assert path.json()["value"] == 7
    missing = run_cli("get-output", execution_id, "step.other.stdout", "--json")
    assert missing.exit_code == 3
    assert missing.error()["code"] == "OUTPUT_NOT_FOUND"


def test_log_of_unknown_or_malformed_id(home: SpellHome) -> None:
    assert run_cli("log", "exec_01M84PD7WDJZ3ZCXN5KJA6W5YD", "--json").error()["code"] == "LOG_NOT_FOUND"
    assert run_cli("log", "../x", "--json").error()["code"] == "VALIDATION_ERROR"


def test_failed_step_is_kept_in_the_log_with_its_output_heads(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "fails", "#!/bin/sh\necho before\necho broken >&2\nexit 4\n")
    result = run_cli("cast", spell, "--json")
    assert result.exit_code == 10
    error = result.error()
    assert error["code"] == "RUNTIME_FAILED"
    log = run_cli("log", error["details"]["execution_id"], "--json").json()
    step = log["steps"][0]
    assert (step["success"], step["exit_code"], step["stdout_head"], step["stderr_head"]) == (
        False,
        4,
        "before\n",
        "broken\n",
    )


def test_step_timeout_surfaces_as_timeout(
    tmp_path: Path, home: SpellHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    spell = host_spell(tmp_path, "slow", "#!/bin/sh\nsleep 30\n")
    monkeypatch.setenv("SPELL_RUNTIME_STEP_TIMEOUT_MS", "300")
    result = run_cli("cast", spell, "--json")
    assert result.exit_code == 10
    assert result.error()["code"] == "TIMEOUT"


def test_refused_cast_still_leaves_a_log(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "risky", ECHO_INPUT, risk="high")
    run_cli("cast", spell, "--json")
    (log_file,) = home.logs.iterdir()
    record = json.loads(log_file.read_text())
    assert record["outcome"] == "REFUSED"
    assert record["error"]["code"] == "CONFIRMATION_REQUIRED"


def test_docker_spell_without_an_engine_is_engine_unavailable(
    tmp_path: Path, home: SpellHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    spell = host_spell(tmp_path, "boxed", ECHO_INPUT, runtime={"execution": "docker", "docker_image": "x:1"})
    monkeypatch.setenv("SPELL_DOCKER_BINARY", "spell-no-such-docker")
    result = run_cli("cast", spell, "--json")
    assert result.exit_code == 10
    assert result.error()["code"] == "ENGINE_UNAVAILABLE"


def test_billed_spell_casts_with_a_matching_entitlement(tmp_path: Path, home: SpellHome) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from spell.kit.time import utcnow
    from spell.signing.keys import public_key_to_b64url
    from spell.signing.licenses import LicenseStore
    from tests.signing.entitlements import make_token

    issuer = Ed25519PrivateKey.generate()
    trust = TrustStore(home.trust)
    trust.add_key("billing", public_key_to_b64url(issuer.public_key()), key_id="k1")
    token = make_token(issuer, max_amount=10, expires_at="2099-01-01T00:00:00Z")
    LicenseStore(home.licenses).add("team", token, trust=trust, now=utcnow())
    billing = {"enabled": True, "mode": "upfront", "currency": "USD", "max_amount": 5}
    spell = host_spell(tmp_path, "paid", ECHO_INPUT, billing=billing)
    result = run_cli("cast", spell, "--allow-billing", "--json")
    assert result.exit_code == 0, result.stderr
    log = run_cli("log", result.json()["execution_id"], "--json").json()
    assert log["entitlement"] == "team"


def test_get_output_reads_a_whole_document_output(home: SpellHome) -> None:
    from spell.local.logs import ExecutionLogs

    logs = ExecutionLogs(home.logs)
    execution_id = logs.new_id()
    logs.write({"execution_id": execution_id, "outputs": {"lines": 2, "top": [{"word": "a"}]}})
    assert run_cli("get-output", execution_id, "output.top.0.word").stdout == "a\n"
    assert run_cli("get-output", execution_id, "output", "--json").json()["value"]["lines"] == 2
    assert run_cli("get-output", execution_id, "output.nope", "--json").error()["code"] == "OUTPUT_NOT_FOUND"


def test_engine_failure_is_logged_as_internal_not_refused(
    tmp_path: Path, home: SpellHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    spell = host_spell(tmp_path, "boxed", ECHO_INPUT, runtime={"execution": "docker", "docker_image": "x:1"})
    monkeypatch.setenv("SPELL_DOCKER_BINARY", "spell-no-such-docker")
    error = run_cli("cast", spell, "--json").error()
    record = run_cli("log", next(home.logs.iterdir()).stem, "--json").json()
    assert (record["outcome"], record["error"]["code"]) == ("INTERNAL", error["code"])
