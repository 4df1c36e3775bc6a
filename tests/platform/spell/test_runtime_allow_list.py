"""The server's runtime allow-list, checked at publish and at every cast: WASM and builtins always, host
steps and Docker only when the operator enabled them."""

from __future__ import annotations

from typing import Any

import pytest

from spell.errors import PolicyViolation
from spell.platform.spell.service import runtime_allow_list
from spell.policy.rules import PolicyContext

EXECUTIONS = ("wasm", "host", "docker", "builtin", "api", "workflow")


@pytest.mark.parametrize(
    ("enabled", "allowed"),
    [
        ({}, ["builtin", "wasm"]),
        ({"host": True}, ["builtin", "host", "wasm"]),
        ({"docker": True}, ["builtin", "docker", "wasm"]),
        ({"host": True, "docker": True}, ["builtin", "docker", "host", "wasm"]),
        ({"api": True}, ["api", "builtin", "wasm"]),
        ({"workflow": True}, ["builtin", "wasm", "workflow"]),
    ],
)
def test_only_the_runtimes_the_operator_enabled_pass(enabled: dict[str, Any], allowed: list[str]) -> None:
    guard = runtime_allow_list(**enabled)
    for execution in EXECUTIONS:
        ctx = PolicyContext(spell_id="acme/x", publisher="acme", risk="low", execution=execution)
        if execution in allowed:
            guard.check(ctx)
            continue
        with pytest.raises(PolicyViolation) as refused:
            guard.check(ctx)
        assert refused.value.code == "POLICY_DENIED"
        assert refused.value.details["rule"] == "server.runtimes"
        assert refused.value.details["allowed"] == allowed
        assert refused.value.hint is not None
        assert "SPELL_SERVER_ALLOW_HOST_RUNTIME" in refused.value.hint
