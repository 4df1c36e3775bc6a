"""Run ``spell`` in-process through its real entry point, errors rendered as users see them.

``main`` is the one place that turns a ``SpellError`` into stderr text or JSON and an exit code, so
tests go through it (inside click's runner isolation) rather than calling the group directly.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from typing import Any

from click.testing import CliRunner

from spell.cli.app import main


@dataclass(frozen=True)
class CliResult:
    """Exit code and the text of both streams."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """stdout parsed as JSON."""
        return json.loads(self.stdout)

    def error(self) -> dict[str, Any]:
        """The ``error`` object of a ``--json`` failure on stderr."""
        payload = json.loads(self.stderr)
        assert payload["ok"] is False
        error: dict[str, Any] = payload["error"]
        return error


def run_cli(*args: str, stdin: bytes | str | None = None) -> CliResult:
    """Run ``spell ARGS`` with ``stdin`` as standard input; ``SPELL_HOME`` comes from the environment."""
    with CliRunner().isolation(input=stdin) as (out, err, _):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        sys.stdout.flush()  # the isolated streams are buffered text wrappers
        sys.stderr.flush()
    return CliResult(code, out.getvalue().decode(), err.getvalue().decode())


def table_rows(text: str) -> list[list[str]]:
    """The cells of an aligned table as printed (header first), the rule under the header left out."""
    rows = [line for line in text.splitlines() if line.strip() and set(line.strip()) != {"─"}]
    return [re.split(r" {2,}", line.strip()) for line in rows]
