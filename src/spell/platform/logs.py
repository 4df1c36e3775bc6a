"""Server logs: one JSON object per line (python-json-logger over orjson), each with the request id
and the cast id of the work that wrote it, from context variables the API middleware and the cast
runner set."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TextIO

__all__ = ["CAST_ID", "REQUEST_ID", "ContextFields", "cast_context", "configure"]

REQUEST_ID: ContextVar[str | None] = ContextVar("spell_request_id", default=None)
CAST_ID: ContextVar[str | None] = ContextVar("spell_cast_id", default=None)

_JSON_FIELDS = "%(levelname)s %(name)s %(message)s %(request_id)s %(cast_id)s"
_TEXT_FIELDS = "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(cast_id)s] %(message)s"


class ContextFields(logging.Filter):
    """Adds ``request_id`` and ``cast_id`` to a record that was not given them explicitly."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keep the record; only fill in the fields."""
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        if not hasattr(record, "cast_id"):
            record.cast_id = CAST_ID.get()
        return True


class _SpellHandler(logging.StreamHandler[TextIO]):
    """The handler ``configure`` installs (so configuring again replaces it rather than adding one)."""


@contextmanager
def cast_context(cast_id: str) -> Iterator[None]:
    """Log lines written while the block runs carry ``cast_id``."""
    token = CAST_ID.set(cast_id)
    try:
        yield
    finally:
        CAST_ID.reset(token)


def configure(level: str, fmt: str, *, stream: TextIO | None = None) -> logging.Handler:
    """Send every log record at ``level`` or above to ``stream`` (stderr) as ``json`` or ``text``."""
    handler = _SpellHandler(stream or sys.stderr)
    handler.addFilter(ContextFields())
    if fmt == "json":
        # orjson (a dependency already) halves the formatting cost of the stdlib json encoder
        from pythonjsonlogger.core import RESERVED_ATTRS
        from pythonjsonlogger.orjson import OrjsonFormatter

        handler.setFormatter(
            OrjsonFormatter(
                _JSON_FIELDS,
                rename_fields={"levelname": "level", "name": "logger"},
                timestamp="time",  # ISO 8601, UTC
                # uvicorn's copy of its message with terminal colours
                reserved_attrs=[*RESERVED_ATTRS, "color_message"],
            )
        )
    else:
        handler.setFormatter(logging.Formatter(_TEXT_FIELDS))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _SpellHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
