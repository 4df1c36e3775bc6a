"""Changes and cancels between machines over PostgreSQL ``LISTEN``/``NOTIFY``.

Every node of a multi-node deployment shares the PostgreSQL database, so its notification channels
reach every node without another service. A commit that writes a watched model sends a notification
inside its own transaction (``changes``): PostgreSQL delivers it at commit and drops it on rollback.
Each server process keeps one ``Listener``: a thread with a connection of its own that bumps the
generations a notification names, and stops casts named on the cancel channel.

Notifications sent while a listener is away are lost, so a listener that (re)connects invalidates
every cached read, and while it is away caching is off (``changes.hold_caching``): a node never
serves a cached row it might not have heard was changed.

A service that wants its threads on every node woken by a commit (work waiting in a table) names a
channel of its own: ``send_wake`` in the commit's transaction, and a ``wakes`` callback on the
listener, which it also calls on every gap (a missed wake-up must not wait for a poll).

Channels are per schema: deployments (and tests) sharing a database under different search paths do
not hear each other.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Callable, Mapping
from urllib.parse import quote, urlencode

from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session, SessionTransaction

__all__ = [
    "CANCELS",
    "CHANGES",
    "Listener",
    "channel_sql",
    "conninfo_of",
    "origin",
    "send_cancel",
    "send_wake",
]

_log = logging.getLogger(__name__)

CHANGES = "spell_changes"
CANCELS = "spell_cancel"
_TOKEN = secrets.token_hex(4)
_NAME_MAX = 63  # PostgreSQL's identifier length; LISTEN cuts longer names, pg_notify refuses them


def origin() -> str:
    """This process's tag on its notifications: its own commits bumped its generations already.

    The pid keeps processes forked after import apart."""
    return f"{os.getpid()}-{_TOKEN}"


def channel_sql(base: str) -> str:
    """SQL for ``base``'s channel in the connection's schema (the plain name in ``public``)."""
    return (
        f"CASE WHEN coalesce(current_schema(), 'public') = 'public' THEN '{base}' "
        f"ELSE left('{base}.' || current_schema(), {_NAME_MAX}) END"
    )


def _channel(base: str, schema: str | None) -> str:
    return base if schema in (None, "public") else f"{base}.{schema}"[:_NAME_MAX]


_SEND = text(f"SELECT pg_notify({channel_sql(CANCELS)}, :payload)")


def send_cancel(engine: Engine, cast_id: str) -> None:
    """Tell every listening node to stop ``cast_id`` if it runs there (its own autocommit round trip)."""
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(_SEND, {"payload": cast_id[:200]})


def send_wake(session: Session, base: str) -> None:
    """Wake ``base``'s listeners on other processes when (and if) the session's transaction commits.

    Once per transaction: later calls in it send nothing, unless the savepoint that sent it rolled
    back (PostgreSQL dropped its notification). Nothing on other databases: no node listens there.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    key = f"spell.wake.{base}"
    sent: SessionTransaction | None = session.info.get(key)
    if sent is not None and sent.is_active:
        return
    session.execute(text(f"SELECT pg_notify({channel_sql(base)}, :payload)"), {"payload": origin()})
    session.info[key] = session.get_nested_transaction() or session.get_transaction()


def conninfo_of(url: str) -> str:
    """The libpq URI of a SQLAlchemy PostgreSQL URL (the driver name dropped, options kept).

    Every part is percent-encoded here: SQLAlchemy renders a space as ``+`` in the query and leaves
    it bare in a password, neither of which libpq reads back (``options=-csearch_path=s -c…`` would
    name another schema and listen elsewhere)."""
    parsed = make_url(url)
    auth = ""
    if parsed.username is not None:
        auth = quote(parsed.username, safe="")
        if parsed.password is not None:
            auth += ":" + quote(str(parsed.password), safe="")
        auth += "@"
    host = parsed.host or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parsed.port}" if parsed.port else ""
    database = "/" + quote(parsed.database, safe="") if parsed.database else ""
    pairs = [
        (key, value)
        for key, values in parsed.query.items()
        for value in ((values,) if isinstance(values, str) else values)
    ]
    query = f"?{urlencode(pairs, quote_via=quote)}" if pairs else ""
    return f"postgresql://{auth}{host}{port}{database}{query}"


class Listener:
    """A thread listening on this schema's channels over its own connection, reconnecting with backoff.

    ``on_change`` gets each model name another process changed, ``on_cancel`` each cast id to stop,
    ``on_gap`` is called when notifications may have been missed (connected again, or lost the
    connection) and ``on_state`` with True once listening and False once not. ``wakes`` maps a channel
    (``send_wake``'s ``base``) to what it wakes: called on each wake-up from another process, and on
    every gap too.
    """

    def __init__(
        self,
        url: str,
        *,
        on_change: Callable[[str], object],
        on_cancel: Callable[[str], object],
        on_gap: Callable[[], object],
        on_state: Callable[[bool], object] = lambda _up: None,
        wakes: Mapping[str, Callable[[], object]] | None = None,
        backoff: tuple[float, float] = (0.05, 5.0),
        poll_s: float = 0.25,
    ) -> None:
        self._conninfo = conninfo_of(url)
        self._on_change, self._on_cancel = on_change, on_cancel
        self._on_gap, self._on_state = on_gap, on_state
        self._wakes = dict(wakes or {})
        self._backoff, self._poll_s = backoff, poll_s
        self._stopping = threading.Event()
        self.listening = threading.Event()
        self.connections = 0  # how many times it connected (and invalidated everything)
        self.backend_pid: int | None = None
        self._thread = threading.Thread(target=self._run, name="spell-notify-listener", daemon=True)

    def start(self) -> Listener:
        """Start listening (returns at once; ``listening`` is set once the channels are open)."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop listening and close the connection."""
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg  # the PostgreSQL extra: only nodes on PostgreSQL listen

        delay = self._backoff[0]
        while not self._stopping.is_set():
            try:
                self._listen()
                return  # stopping
            except (psycopg.Error, OSError) as exc:
                _log.warning("cache and cancel notifications lost (%s); reconnecting in %.2fs", exc, delay)
            except Exception:  # a bug in a callback must not end the listening for good
                _log.exception("cache and cancel listener failed; reconnecting in %.2fs", delay)
            if self.listening.is_set():
                self.listening.clear()
                self._on_state(False)
                delay = self._backoff[0]
            self._gap()
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, self._backoff[1])

    def _listen(self) -> None:
        import psycopg
        from psycopg import sql

        # Keepalives so that a peer gone silent (not only a closed socket) is noticed in seconds.
        with psycopg.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=5,
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=3,
        ) as conn:
            row = conn.execute("SELECT current_schema(), pg_backend_pid()").fetchone()
            schema, self.backend_pid = (row[0], int(row[1])) if row is not None else (None, None)
            changes, cancels = _channel(CHANGES, schema), _channel(CANCELS, schema)
            wakes = {_channel(base, schema): wake for base, wake in self._wakes.items()}
            for channel in (changes, cancels, *wakes):
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            own = origin()
            # Whatever was sent before LISTEN took effect went unheard.
            self._gap()
            self.connections += 1
            self.listening.set()
            self._on_state(True)
            while not self._stopping.is_set():
                for note in conn.notifies(timeout=self._poll_s):
                    if note.channel == cancels:
                        self._on_cancel(note.payload)
                    elif note.channel == changes:
                        sender, _, names = note.payload.partition(" ")
                        if sender != own:
                            for name in names.split():
                                self._on_change(name)
                    elif note.channel in wakes and note.payload != own:  # its own commit woke it already
                        wakes[note.channel]()
            self.listening.clear()
            self._on_state(False)

    def _gap(self) -> None:
        self._on_gap()
        for wake in self._wakes.values():
            wake()
