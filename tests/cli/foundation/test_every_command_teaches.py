"""Every command and verb answers ``--help`` with a usage line and more, and every data command of
the bundle foundation accepts ``--json``."""

from __future__ import annotations

import importlib.util

import click
import pytest

from spell.cli.app import COMMANDS, cli
from tests.cli.run_cli import run_cli

FOUNDATION_COMMANDS = (
    "pack",
    "sign",
    "verify",
    "trust",
    "install",
    "list",
    "inspect",
    "registry",
    "policy",
    "license",
)


def _implemented(name: str) -> bool:
    module = COMMANDS[name][0].split(":")[0]
    return importlib.util.find_spec(module) is not None


def _leaves() -> list[tuple[str, ...]]:
    ctx = click.Context(cli)
    out: list[tuple[str, ...]] = []
    for name in COMMANDS:
        if not _implemented(name):
            continue
        command = cli.get_command(ctx, name)
        if isinstance(command, click.Group):
            sub = click.Context(command, parent=ctx)
            out.extend((name, verb) for verb in command.list_commands(sub))
        else:
            out.append((name,))
    return out


def test_the_foundation_commands_are_all_implemented() -> None:
    assert [name for name in FOUNDATION_COMMANDS if not _implemented(name)] == []


@pytest.mark.parametrize("path", [*((name,) for name in COMMANDS), *_leaves()], ids=" ".join)
def test_every_command_and_verb_has_help_with_a_usage_line(path: tuple[str, ...]) -> None:
    if not _implemented(path[0]):
        pytest.skip(f"`spell {path[0]}` is registered but its module is not written yet")
    result = run_cli(*path, "--help")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"Usage: spell {' '.join(path)} ")
    assert len(result.stdout.splitlines()) > 3  # more than a bare usage line: it teaches


@pytest.mark.parametrize("path", [p for p in _leaves() if p[0] in FOUNDATION_COMMANDS], ids=" ".join)
def test_every_foundation_data_command_accepts_json(path: tuple[str, ...]) -> None:
    result = run_cli(*path, "--help")
    assert "--json" in result.stdout
