"""Every `spell …` command line that the code shows users (hints, help, docstrings) exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click
import pytest

from spell.cli.app import cli

SRC = Path(__file__).resolve().parents[2] / "src" / "spell"
_MENTION = re.compile(r"`(spell(?: [^`]+)?)`")


def _mentions() -> list[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for module in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for match in _MENTION.finditer(node.value):
                    found.add((str(module.relative_to(SRC)), match.group(1)))
    return sorted(found)


MENTIONS = _mentions()


def _resolve(line: str) -> str | None:
    """None when ``line`` names an existing command and only options it has, else what is missing."""
    words = line.split()[1:]
    command: click.Command = cli
    ctx = click.Context(cli, info_name="spell")
    while words and isinstance(command, click.Group) and not words[0].startswith("-"):
        sub = command.get_command(ctx, words[0])
        if sub is None:
            return f"no command {words[0]!r}"
        command, words = sub, words[1:]
        ctx = click.Context(command, info_name=command.name, parent=ctx)
    options = {name for param in command.params for name in (*param.opts, *param.secondary_opts)}
    options |= set(ctx.help_option_names)
    unknown = [
        word.split("=")[0] for word in words if word.startswith("--") and word.split("=")[0] not in options
    ]
    return f"no option {unknown}" if unknown else None


def test_the_source_mentions_commands() -> None:
    assert len(MENTIONS) > 10


@pytest.mark.parametrize(("module", "line"), MENTIONS, ids=[f"{m}:{line}" for m, line in MENTIONS])
def test_a_mentioned_command_exists_with_its_options(module: str, line: str) -> None:
    assert _resolve(line) is None, f"{module} mentions `{line}`: {_resolve(line)}"


def test_a_mention_of_a_missing_option_is_caught() -> None:
    assert _resolve("spell cast --no-such-option") == "no option ['--no-such-option']"
    assert _resolve("spell no-such-command") == "no command 'no-such-command'"
    assert _resolve("spell serve --processes N") is None
