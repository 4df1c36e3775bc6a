"""Synchronous database code run on the event loop, whose waits for the database let the loop go on.

A quick cast's code is synchronous: SQLAlchemy's session and the lean PostgreSQL path. On SQLite its
statements never wait on a network, so the loop runs it as it is. On PostgreSQL each round trip waits
for the server; ``run`` calls the code in a greenlet, and a PostgreSQL connection asked to wait there
(``pgconn.OneTripBegin.wait``) hands the wait for its socket to the loop through ``wait``: the
greenlet is suspended until the answer is there, and the loop serves other requests meanwhile. No
thread hand-off, and the loop never blocks on the database's network or its row locks. SQLAlchemy's
asyncio engine rests on the same device.

Code run this way may not hold a thread lock across a statement, nor wait for a pool's connection
that another greenlet holds: the second greenlet would block the loop's thread, which the first needs
to go on (``session.Database``'s loop engine).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from greenlet import greenlet

__all__ = ["active", "run", "wait"]

T = TypeVar("T")

# greenlet is imported by the first ``run`` (PostgreSQL servers only): until then nothing runs inside
_kind: type[greenlet] | None = None
_current: Callable[[], greenlet] | None = None


def _on_loop() -> type[greenlet]:
    global _kind, _current
    if _kind is None:
        from greenlet import getcurrent, greenlet

        _current = getcurrent

        class OnLoop(greenlet):
            """A greenlet ``run`` started: its waits go to the loop."""

        _kind = OnLoop
    return _kind


async def run(fn: Callable[..., T], /, *args: Any) -> T:
    """``fn(*args)`` on the loop's thread, in the caller's context; each ``wait`` inside suspends it
    while the loop awaits what it was given."""
    kind = _on_loop()
    assert _current is not None  # noqa: S101 - set with the kind
    parent = _current()
    child = kind(fn, parent)
    child.gr_context = parent.gr_context
    result = child.switch(*args)
    while not child.dead:
        try:
            value = await result
        except BaseException as error:  # the wait's error (or a cancellation) goes to the code waiting
            result = child.throw(error)
        else:
            result = child.switch(value)
    return cast(T, result)


def active() -> bool:
    """Whether this code runs inside ``run`` (where ``wait`` may be called)."""
    return _kind is not None and _current is not None and isinstance(_current(), _kind)


def wait(awaitable: Awaitable[T]) -> T:
    """Inside ``run``: suspend until the loop has awaited ``awaitable``; its result or error."""
    if not active():
        if isinstance(awaitable, Coroutine):
            awaitable.close()  # never to be awaited
        raise RuntimeError("yielding.wait outside yielding.run")
    assert _current is not None  # noqa: S101 - ``active`` checked it
    parent = _current().parent
    assert parent is not None  # noqa: S101 - ``run`` gave it one
    return cast(T, parent.switch(awaitable))
