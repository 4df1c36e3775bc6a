"""``spell builtins``: the functions a ``runtime.execution: builtin`` spell may name."""

from __future__ import annotations

import json

import click

from spell.cli.output import emit

__all__ = ["command"]


@click.command(name="builtins")
@click.option("--schema", "show_schema", is_flag=True, help="Also print each function's input schema.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: name, summary and input_schema of each.")
def command(show_schema: bool, as_json: bool) -> None:
    """List the builtin functions shipped with Spell, which run without a sandbox because they are
    the platform's own code. A spell uses one with ``runtime: {execution: builtin, builtin: NAME}``;
    its input must fit the function's schema.

    \b
    Examples:
      spell builtins
      spell builtins --schema
      spell builtins --json
    """
    from spell.runtimes.builtin import BUILTINS

    items = [b.to_dict() for b in BUILTINS.values()]
    width = max(len(item["name"]) for item in items)
    lines = []
    for item in items:
        lines.append(f"{item['name']:<{width}}  {item['summary']}")
        if show_schema:
            lines.append("  " + json.dumps(item["input_schema"], sort_keys=True))
    emit(items, as_json=as_json, human="\n".join(lines))
