"""How the CLI prints data and errors: human text by default, one JSON document with ``--json``.

Errors go to stderr with an exit code chosen by the error family, so scripts can branch on it.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from spell.cli.console import colour_enabled
from spell.errors import (
    AuthError,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    QuotaError,
    RuntimeFailure,
    ServerUnreachable,
    SpellError,
    VerificationError,
)

__all__ = ["EXIT_CODES", "emit", "exit_code_for", "json_option", "render_error"]

# Order matters: the first matching family wins.
EXIT_CODES: tuple[tuple[type[SpellError], int], ...] = (
    (NotFound, 3),
    (VerificationError, 4),
    (PermissionDenied, 5),
    (InvalidInput, 6),
    (Conflict, 7),
    (AuthError, 8),
    (QuotaError, 9),
    (RuntimeFailure, 10),
    (ServerUnreachable, 11),
)

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document for scripts.")


def exit_code_for(error: SpellError) -> int:
    """Exit code of an error: one per family, 1 for anything else."""
    for family, code in EXIT_CODES:
        if isinstance(error, family):
            return code
    return 1


def emit(data: Any, *, as_json: bool, human: str | None = None) -> None:
    """Print ``data`` as JSON, or ``human`` text (falling back to JSON when none is given)."""
    if as_json or human is None:
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        # click strips colour codes off a terminal; FORCE_COLOR (honoured by the console) keeps them.
        click.echo(human, color=True if colour_enabled(sys.stdout) else None)


def render_error(error: SpellError, *, as_json: bool) -> None:
    """Write an error to stderr in the chosen format."""
    if as_json:
        sys.stderr.write(json.dumps({"ok": False, "error": error.to_dict()}, sort_keys=True) + "\n")
        return
    colour = colour_enabled(sys.stderr)
    label = click.style("error:", fg="red", bold=True) if colour else "error:"
    wait = f" (retry after {error.retry_after} s)" if error.retry_after is not None else ""
    sys.stderr.write(f"{label} {error.message}{wait} [{error.code}]\n")
    if error.hint:
        sys.stderr.write(f"{click.style('hint:', fg='yellow') if colour else 'hint:'} {error.hint}\n")
