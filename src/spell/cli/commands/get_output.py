"""``spell get-output EXEC_ID REF``: print one output of a local cast."""

from __future__ import annotations

import json
from typing import Any

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="get-output")
@click.argument("execution_id")
@click.argument("ref")
@json_option
def command(execution_id: str, ref: str, as_json: bool) -> None:
    """Print output REF of the cast EXEC_ID.

    REF is step.NAME.stdout, step.NAME.json or step.NAME.json.PATH (a dot path into the JSON) for
    step spells, and output or output.PATH for spells that return one JSON document (wasm).
    Text is printed as it is; JSON is printed as JSON.

    \b
    Examples:
      spell get-output exec_01JD… step.hello.stdout
      spell get-output exec_01JD… step.fetch.json.items.0.id --json
    """
    from spell.config.home import SpellHome
    from spell.local.logs import ExecutionLogs
    from spell.runtimes.host.outputs import resolve_output

    record = ExecutionLogs(SpellHome.from_env().logs).read(execution_id)
    outputs = record.get("outputs")
    outputs = outputs if isinstance(outputs, dict) else {}
    if ref.split(".", 1)[0] == "output":
        # The runtime's own document when the log has it (wasm casts), else the outputs object.
        value = _document_output(record.get("output", outputs), ref)
    else:
        value = resolve_output(outputs, ref)
    if as_json:
        emit({"execution_id": execution_id, "ref": ref, "value": value}, as_json=True)
    elif isinstance(value, str):
        click.echo(value, nl=not value.endswith("\n"))
    else:
        click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _document_output(document: Any, ref: str) -> Any:
    from spell.errors import OutputNotFound
    from spell.kit.jsonpath import MISSING, get_path

    found = get_path(document, ref.partition(".")[2])
    if found is MISSING:
        raise OutputNotFound(f"output not found: {ref}", details={"ref": ref})
    return found
