"""Progress of remote work on stderr: a spinner and kept lines on a terminal, plain lines elsewhere.

stdout stays for the result (one JSON document with ``--json``), so a pipe or a script reading it
is never mixed with progress; ``quiet`` (``--json``) shows nothing at all. Colour follows
``NO_COLOR``. rich is imported only when a terminal shows the spinner.
"""

from __future__ import annotations

import os
import sys
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["Progress"]


class Progress:
    """A status that changes (the spinner's text) and lines that stay (steps, logs)."""

    def __init__(self, title: str, *, quiet: bool = False, stream: IO[str] | None = None) -> None:
        self.title = title
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.animated = bool(isatty and isatty()) and os.environ.get("TERM") != "dumb" and not quiet
        self._console: Console | None = None
        self._status: Any = None

    def __enter__(self) -> Progress:
        if self.animated:
            from rich.console import Console

            self._console = Console(
                file=self.stream, no_color=bool(os.environ.get("NO_COLOR")), highlight=False
            )
            self._status = self._console.status(_escape(self.title))
            self._status.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def status(self, text: str) -> None:
        """What is happening now: the spinner's text on a terminal, one plain line elsewhere."""
        if self.quiet:
            return
        if self._status is not None:
            self._status.update(_escape(text))
        else:
            self._plain(text)

    def line(self, text: str, *, style: str | None = None) -> None:
        """A line that stays on screen above the spinner (``style``: a rich style on a terminal)."""
        if self.quiet:
            return
        if self._console is not None:
            escaped = _escape(text)
            self._console.print(f"[{style}]{escaped}[/{style}]" if style else escaped)
        else:
            self._plain(text)

    def _plain(self, text: str) -> None:
        self.stream.write(f"spell: {text}\n")
        self.stream.flush()


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
