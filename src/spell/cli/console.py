"""Terminal rendering with rich: aligned tables, colour only on a terminal, progress on stderr.

Colour follows the common conventions: none when ``NO_COLOR`` is set to anything, none when the
stream is not a terminal (a pipe, a file, a CI log), forced on by ``FORCE_COLOR``. ``--json`` output
never comes here: it stays one plain JSON document. rich is imported on first use, so
``spell --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["activity", "colour_enabled", "make_console", "table"]

# A piped table is read by people and by grep, never wrapped: it is as wide as its longest row.
_UNBOUNDED_WIDTH = 100_000


def colour_enabled(stream: IO[str], environ: dict[str, str] | None = None) -> bool:
    """True when ``stream`` may carry colour: a terminal, ``NO_COLOR`` unset; ``FORCE_COLOR`` wins."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def make_console(stream: IO[str] | None = None) -> Console:
    """A rich console on ``stream`` (default: the current stdout) that obeys ``colour_enabled``."""
    from rich.console import Console

    out = stream if stream is not None else sys.stdout
    colour = colour_enabled(out)
    terminal = bool(getattr(out, "isatty", None) and out.isatty())
    return Console(
        file=out,
        color_system="auto" if colour else None,
        force_terminal=True if colour else None,  # FORCE_COLOR on a pipe; else rich asks the stream
        no_color=not colour,
        highlight=False,
        width=None if terminal else _UNBOUNDED_WIDTH,
    )


def table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Rows under a header, each column aligned; the header is bold where colour is on.

    Returned as text (no trailing spaces) for ``emit(..., human=...)``, so it is printed the same
    way as every other human output.
    """
    from rich import box
    from rich.table import Table

    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for name in columns:
        grid.add_column(name, overflow="fold")
    for row in rows:
        grid.add_row(*(_cell(value) for value in row))
    console = make_console()
    with console.capture() as captured:
        console.print(grid)
    return "\n".join(line.rstrip() for line in captured.get().rstrip("\n").splitlines())


def _cell(value: object) -> str:
    from rich.markup import escape

    if isinstance(value, bool):
        return "true" if value else "false"
    return escape("-" if value is None else str(value))


@contextlib.contextmanager
def activity(title: str, *, quiet: bool = False, transient: bool = False) -> Iterator[Callable[[str], None]]:
    """Show long work on stderr; yields the function that reports each stage.

    On a terminal a spinner shows the current stage and each stage stays as one line; on anything
    else each stage is one plain ``spell: ...`` line. ``quiet`` (``--json``) shows nothing;
    ``transient`` work (usually quick) shows only the spinner, and nothing off a terminal.
    """
    stream = sys.stderr
    animated = stream.isatty() and os.environ.get("TERM") != "dumb"  # no animation in a file or log
    if quiet or (transient and not animated):
        yield _ignore
        return
    if not animated:
        yield _plain_line(stream)
        return
    console = make_console(stream)
    with console.status(title) as status:

        def report(message: str) -> None:
            if not transient:
                console.print(f"[dim]spell:[/dim] {_escape(message)}")
            status.update(_escape(message))

        yield report


def _ignore(message: str) -> None:
    del message


def _plain_line(stream: IO[str]) -> Callable[[str], None]:
    def report(message: str) -> None:
        stream.write(f"spell: {message}\n")
        stream.flush()

    return report


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
