"""A click group that imports a subcommand's module only when that subcommand runs.

``spell --help`` therefore imports click and nothing else; each command's own heavy imports
(pydantic, cryptography, wasmtime) happen inside the command.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection, Mapping
from typing import Any

import click

__all__ = ["LazyGroup", "verb_group"]


class LazyGroup(click.Group):
    """Subcommands given as ``{"name": ("module.path:attr", "one-line help")}``.

    ``sections`` (``{"Title": ("name", ...)}``) splits ``--help`` into titled lists, in the given
    order; names a build does not have are skipped and commands no section names go last.
    """

    def __init__(
        self,
        *args: Any,
        lazy: dict[str, tuple[str, str]] | None = None,
        sections: dict[str, tuple[str, ...]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = dict(lazy or {})
        self._sections = dict(sections or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._lazy:
            target, _ = self._lazy[cmd_name]
            module_name, attr = target.split(":")
            command = getattr(importlib.import_module(module_name), attr)
            if not isinstance(command, click.Command):
                raise TypeError(f"{target} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List lazy commands from their registered help, without importing them."""
        rows = dict(self._lazy_rows())
        placed: set[str] = set()
        for title, names in self._sections.items():
            shown = [(name, rows[name]) for name in names if name in rows]
            placed.update(name for name, _ in shown)
            if shown:
                with formatter.section(title):
                    formatter.write_dl(shown)
        rest = sorted((name, text) for name, text in rows.items() if name not in placed)
        if rest:
            with formatter.section("Other commands" if placed else "Commands"):
                formatter.write_dl(rest)

    def _lazy_rows(self) -> list[tuple[str, str]]:
        rows = [(name, self._lazy[name][1]) for name in sorted(self._lazy)]
        rows += [
            (name, cmd.get_short_help_str(60))
            for name, cmd in sorted(self.commands.items())
            if name not in self._lazy and not cmd.hidden
        ]
        return rows


def verb_group(
    name: str, package: str, verbs: Mapping[str, str], *, help_text: str, subgroups: Collection[str] = ()
) -> LazyGroup:
    """The noun group ``name`` with one module per verb: ``verbs`` maps each verb to its one-line help.

    Verb ``remove-key`` is ``<package>.remove_key:command``; a verb listed in ``subgroups`` is a
    group of its own (``<package>.<verb>:group``).
    """
    lazy = {
        verb: (f"{package}.{verb.replace('-', '_')}:{'group' if verb in subgroups else 'command'}", line)
        for verb, line in verbs.items()
    }
    return LazyGroup(name=name, lazy=lazy, help=help_text)
