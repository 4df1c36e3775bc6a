"""Print the command table of docs/cli.md from the CLI itself: usage, purpose and examples.

Run ``.venv/bin/python scripts/cli_reference.py > /tmp/cli.md`` and paste the output below the
hand-written introduction of ``docs/cli.md``. Commands whose module does not exist yet are listed
with their registered one-line help only.
"""

from __future__ import annotations

import importlib.util
import sys

import click

from spell.cli.app import COMMANDS, cli

# Verbs whose --help has no example of its own (each line was run against a scratch SPELL_HOME).
FALLBACK_EXAMPLES: dict[str, list[str]] = {
    "trust list": ["spell trust list --json"],
    "trust inspect": ["spell trust inspect acme"],
    "trust revoke-key": ['spell trust revoke-key acme --key-id 2026 --reason "laptop lost"'],
    "trust restore-key": ["spell trust restore-key acme --key-id 2026"],
    "trust remove-key": ["spell trust remove-key acme --key-id 2025"],
    "trust remove": ["spell trust remove acme"],
    "policy show": ["spell policy show --json"],
    "policy validate": ["spell policy validate --file policy.json"],
    "policy set": ["spell policy set --file policy.json"],
    "license add": ['spell license add team "$(cat token.txt)"', "spell license add team - < token.txt"],
    "license list": ["spell license list --json"],
    "license inspect": ["spell license inspect team"],
    "license revoke": ['spell license revoke team --reason "contract ended"'],
    "license restore": ["spell license restore team"],
    "license remove": ["spell license remove team"],
    "registry set": ["spell registry set https://spells.example.com/spell-index.v1.json"],
    "registry add": ["spell registry add mirror file:///srv/mirror/spell-index.v1.json"],
    "registry remove": ["spell registry remove mirror"],
    "registry show": ["spell registry show --json"],
    "registry validate": ["spell registry validate --name mirror"],
}


def examples(command: click.Command, path: str) -> list[str]:
    """The indented lines that follow ``Example:`` / ``Examples:`` in a command's help."""
    lines = (command.help or "").splitlines()
    out: list[str] = []
    taking = False
    for line in lines:
        stripped = line.strip()
        if stripped in ("Example:", "Examples:") or stripped.startswith("Typical "):
            taking = True
            continue
        if taking and (not stripped or not line.startswith(" ")):
            taking = False
        if taking:
            out.append(stripped)
    return out or FALLBACK_EXAMPLES.get(path, [])


def section(path: list[str], command: click.Command, ctx: click.Context) -> list[str]:
    """One command's Markdown: heading, purpose, usage line and examples."""
    pieces = " ".join(command.collect_usage_pieces(ctx))
    usage = f"spell {' '.join(path)} {pieces}".rstrip()
    out = [f"### `spell {' '.join(path)}`", "", command.get_short_help_str(limit=200), ""]
    out += [f"Usage: `{usage}`", ""]
    shown = examples(command, " ".join(path))
    if shown:
        out += ["```", *shown, "```", ""]
    return out


def walk(path: list[str], command: click.Command, ctx: click.Context) -> list[str]:
    """A command's section, then its verbs' (and theirs, to any depth)."""
    lines = section(path, command, ctx)
    if isinstance(command, click.Group):
        for verb in command.list_commands(ctx):
            sub = command.get_command(ctx, verb)
            if sub is None:
                raise SystemExit(f"spell {' '.join([*path, verb])} is listed but does not load")
            lines += walk([*path, verb], sub, click.Context(sub, info_name=verb, parent=ctx))
    return lines


def main() -> None:
    """Walk every registered command and verb."""
    root = click.Context(cli, info_name="spell")
    lines: list[str] = []
    for name, (target, short) in COMMANDS.items():
        if importlib.util.find_spec(target.split(":")[0]) is None:
            lines += [f"### `spell {name}`", "", f"{short} (not in this build yet)", ""]
            continue
        command = cli.get_command(root, name)
        if command is None:
            raise SystemExit(f"spell {name} is registered but does not load")
        lines += walk([name], command, click.Context(command, info_name=name, parent=root))
    sys.stdout.write("\n".join(lines))


if __name__ == "__main__":
    main()
