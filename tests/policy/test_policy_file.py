from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from spell.bundle.manifest import Effect
from spell.errors import PolicyViolation, SpellError
from spell.policy.file import (
    DEFAULT_POLICY,
    PolicyContext,
    RuntimePolicy,
    evaluate,
    load_policy,
    parse_policy,
    policy_to_text,
    read_policy_file,
    save_policy,
)
from spell.policy.guards import AllOf, AnyOf

CTX = PolicyContext(
    spell_id="samples/call-webhook",
    publisher="samples",
    risk="medium",
    execution="host",
    effects=(Effect(type="notify", target="slack", mutates=False),),
    signature_status="verified",
)


def _policy(**fields: Any) -> RuntimePolicy:
    return parse_policy(json.dumps({"version": "v1", "default": "allow", **fields}))


def _reason(policy: RuntimePolicy, ctx: PolicyContext = CTX) -> str:
    with pytest.raises(PolicyViolation) as exc:
        evaluate(policy, ctx)
    assert exc.value.code == "POLICY_DENIED"
    assert exc.value.message.startswith("policy denied: ")
    return str(exc.value.details["rule"])


def test_a_missing_policy_file_means_allow(tmp_path: Path) -> None:
    policy = load_policy(tmp_path / "policy.json")
    assert policy == DEFAULT_POLICY
    evaluate(policy, CTX)


def test_default_deny_allows_spells_and_publishers_on_an_allow_list() -> None:
    evaluate(_policy(default="deny", spells={"allow": ["samples/call-webhook"]}), CTX)
    evaluate(_policy(default="deny", publishers={"allow": ["samples"]}), CTX)
    assert _reason(_policy(default="deny")) == "default"
    other = PolicyContext("other/x", "other", "low", "host")
    assert _reason(_policy(default="deny", publishers={"allow": ["samples"]}), other) == "publishers.allow"


def test_default_deny_still_applies_the_other_rules_to_allow_listed_spells() -> None:
    policy = _policy(default="deny", spells={"allow": ["samples/call-webhook"]}, max_risk="low")
    assert _reason(policy) == "max_risk"


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ({"spells": {"allow": ["samples/call-webhook"], "deny": ["samples/call-webhook"]}}, "spells.deny"),
        ({"spells": {"allow": ["samples/other"]}}, "spells.allow"),
        ({"publishers": {"deny": ["samples"]}}, "publishers.deny"),
        ({"publishers": {"allow": ["acme"]}}, "publishers.allow"),
        ({"max_risk": "low"}, "max_risk"),
        ({"runtime": {"allow_execution": ["docker", "wasm"]}}, "runtime.allow_execution"),
        ({"effects": {"deny_types": ["notify"], "allow_types": ["notify"]}}, "effects.deny_types"),
        ({"effects": {"allow_types": ["deploy"]}}, "effects.allow_types"),
    ],
)
def test_each_rule_refuses_with_its_reason(fields: dict[str, Any], rule: str) -> None:
    assert _reason(_policy(**fields)) == rule


def test_rules_are_checked_in_spell_runtime_order() -> None:
    policy = _policy(
        spells={"deny": ["samples/call-webhook"]}, publishers={"deny": ["samples"]}, max_risk="low"
    )
    assert _reason(policy) == "spells.deny"
    assert _reason(_policy(publishers={"deny": ["samples"]}, max_risk="low")) == "publishers.deny"


def test_mutating_effects_and_unverified_signatures() -> None:
    mutating = PolicyContext(
        "samples/x", "samples", "low", "host", effects=(Effect(type="deploy", target="prod", mutates=True),)
    )
    assert _reason(_policy(effects={"deny_mutations": True}), mutating) == "effects.deny_mutations"
    evaluate(_policy(effects={"deny_mutations": False}), mutating)
    for status in ("unsigned", "untrusted", "invalid", None):
        ctx = PolicyContext("samples/x", "samples", "low", "host", signature_status=status)
        assert _reason(_policy(signature={"require_verified": True}), ctx) == "signature.require_verified"
    evaluate(_policy(signature={"require_verified": True}), CTX)


@pytest.mark.parametrize(
    "document",
    [
        "[]",
        "{bad json",
        json.dumps({"version": "v2", "default": "allow"}),
        json.dumps({"version": "v1", "default": "maybe"}),
        json.dumps({"version": "v1"}),
        json.dumps({"version": "v1", "default": "allow", "extra": 1}),
        json.dumps({"version": "v1", "default": "allow", "spells": {"allow": ["a"], "other": []}}),
        json.dumps({"version": "v1", "default": "allow", "spells": {"allow": [" "]}}),
        json.dumps({"version": "v1", "default": "allow", "spells": {"allow": "a/b"}}),
        json.dumps({"version": "v1", "default": "allow", "max_risk": "extreme"}),
        json.dumps({"version": "v1", "default": "allow", "runtime": {"allow_execution": ["vm"]}}),
        json.dumps({"version": "v1", "default": "allow", "effects": {"deny_mutations": "true"}}),
        json.dumps({"version": "v1", "default": "allow", "signature": {"require_verified": 1}}),
        json.dumps(
            {"version": "v1", "default": "allow", "rollback": {"require_full_compensation": None, "x": 1}}
        ),
    ],
)
def test_invalid_policy_documents_are_refused(document: str) -> None:
    with pytest.raises(SpellError) as exc:
        parse_policy(document)
    assert exc.value.code == "INVALID_POLICY"


def test_save_writes_normalised_json_that_reads_back(tmp_path: Path) -> None:
    policy = _policy(
        spells={"allow": [" samples/call-webhook "]}, rollback={"require_full_compensation": True}
    )
    path = tmp_path / "home" / "policy.json"
    save_policy(path, policy)
    text = path.read_text()
    assert text == policy_to_text(policy)
    assert text.endswith("\n")
    assert json.loads(text)["spells"] == {"allow": ["samples/call-webhook"]}
    assert read_policy_file(path) == policy


def test_an_unreadable_or_huge_policy_file_is_invalid(tmp_path: Path) -> None:
    with pytest.raises(SpellError) as missing:
        read_policy_file(tmp_path / "absent.json")
    assert missing.value.code == "INVALID_POLICY"
    huge = tmp_path / "huge.json"
    huge.write_text(" " * (1024 * 1024 + 1))
    with pytest.raises(SpellError) as too_big:
        read_policy_file(huge)
    assert too_big.value.code == "INVALID_POLICY"


class _Refuse:
    def check(self, ctx: PolicyContext) -> None:
        raise PolicyViolation(f"no for {ctx.spell_id}")


class _Allow:
    def check(self, ctx: PolicyContext) -> None:
        return None


def test_guards_compose_with_all_of_and_any_of() -> None:
    AnyOf((_Refuse(), _Allow())).check(CTX)
    AllOf((_Allow(), _Allow())).check(CTX)
    with pytest.raises(PolicyViolation):
        AllOf((_Allow(), _Refuse())).check(CTX)
    with pytest.raises(PolicyViolation):
        AnyOf((_Refuse(), _Refuse())).check(CTX)
    with pytest.raises(PolicyViolation):
        AnyOf[PolicyContext](()).check(CTX)


def test_the_runtime_allow_list_guard_names_its_rule_hint_and_the_allowed_kinds() -> None:
    from spell.policy.rules import POLICY_FILE_HINT, ExecutionGuard

    with pytest.raises(PolicyViolation) as from_file:
        ExecutionGuard(("wasm",)).check(CTX)
    assert from_file.value.details["rule"] == "runtime.allow_execution"
    assert from_file.value.hint == POLICY_FILE_HINT
    server = ExecutionGuard(("wasm", "docker"), rule="server.runtimes", hint="ask the operator")
    with pytest.raises(PolicyViolation) as caught:
        server.check(CTX)
    error = caught.value
    assert (error.code, error.message, error.hint) == (
        "POLICY_DENIED",
        "policy denied: runtime execution 'host' is not allowed",
        "ask the operator",
    )
    assert error.details == {
        "reason": "runtime execution 'host' is not allowed",
        "rule": "server.runtimes",
        "spell_id": "samples/call-webhook",
        "execution": "host",
        "allowed": ["docker", "wasm"],
    }
    ExecutionGuard(("host",)).check(CTX)
