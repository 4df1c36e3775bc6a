from __future__ import annotations

import pytest

from tests.cli.run_cli import run_cli

COMMANDS = [
    ("install",),
    ("list",),
    ("inspect",),
    *[("registry", verb) for verb in ("set", "show", "add", "remove", "validate", "resolve")],
    *[("policy", verb) for verb in ("show", "validate", "set")],
    *[("license", verb) for verb in ("add", "list", "inspect", "revoke", "restore", "remove")],
]


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_every_command_has_help_and_a_json_flag(words: tuple[str, ...]) -> None:
    result = run_cli(*words, "--help")
    assert result.exit_code == 0
    assert "--json" in result.stdout
    assert len(result.stdout.splitlines()) > 4


@pytest.mark.parametrize("group", ["registry", "policy", "license"])
def test_group_help_lists_its_verbs(group: str) -> None:
    result = run_cli(group, "--help")
    assert result.exit_code == 0
    assert "Commands:" in result.stdout
