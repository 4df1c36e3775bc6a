"""A policy file that denies by default lets only its allow-listed publishers cast."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.run_cli import run_cli


@pytest.mark.parametrize(("allowed", "code"), [("compat", None), ("someone-else", "POLICY_DENIED")])
def test_a_deny_default_policy_lets_allow_listed_publishers_cast(
    home: Path, tmp_path: Path, allowed: str, code: str | None
) -> None:
    policy = tmp_path / "deny.json"
    policy.write_text(
        json.dumps({"version": "v1", "default": "deny", "publishers": {"allow": [allowed]}}), encoding="utf-8"
    )
    assert run_cli("policy", "set", "--file", str(policy)).exit_code == 0
    result = run_cli("cast", "compat/greet", "-p", "name=world", "--dry-run", "--json")
    if code is None:
        assert result.exit_code == 0, result.stderr
    else:
        assert result.exit_code == 5
        assert result.error()["code"] == code
        assert result.error()["details"]["rule"] == "publishers.allow"
