"""What the remote commands share: the SDK client of a profile, and how they print money and rows.

Every remote command talks to the server only through ``spell.client``; errors it raises are the
server's own ``SpellError`` classes, rendered once by ``spell.cli.app.main``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from spell.cli.output import json_option
from spell.cli.profiles import profile_option, resolve_profile

if TYPE_CHECKING:
    from spell.client import Client

__all__ = ["CLI_RETRY_MAX_WAIT", "absolute_url", "money", "remote_client", "remote_options", "rows"]

F = TypeVar("F", bound=Callable[..., Any])

# A person is waiting at the prompt: a few quick retries of a dropped connection or a busy server,
# but a "retry after" longer than a few seconds is reported at once (with its delay) instead.
CLI_RETRY_MAX_WAIT = 5.0


def remote_client(profile: str | None, *, timeout: float = 30.0) -> Client:
    """The SDK client of ``--profile`` (or ``SPELL_SERVER``/``SPELL_API_KEY``), with the CLI's retries."""
    from spell.client import Client, RetryPolicy

    chosen = resolve_profile(profile)
    retry = RetryPolicy(max_retries=2, backoff=0.25, max_wait=CLI_RETRY_MAX_WAIT)
    return Client(chosen.server, chosen.api_key, timeout=timeout, retry=retry)


def remote_options(command: F) -> F:
    """``--profile NAME`` and ``--json``, the options every remote command takes."""
    return profile_option(json_option(command))


def money(micros: int | None, currency: str) -> str:
    """An integer amount of micro-units as people read it (``-`` when there is none)."""
    if micros is None:
        return "-"
    from spell.kit.money import Money

    return str(Money(micros, currency))


def absolute_url(server: str, url: str) -> str:
    """A link the server gave relative to itself, made absolute."""
    return f"{server.rstrip('/')}{url}" if url.startswith("/") else url


def rows(columns: Sequence[str], values: Sequence[Sequence[object]], *, empty: str = "(none)") -> str:
    """Rows under a header, each column padded to its widest cell."""
    if not values:
        return empty
    cells = [[str(c) for c in columns], *[["-" if v is None else str(v) for v in row] for row in values]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )
