"""PostgreSQL connections whose transaction's ``BEGIN`` travels with its first statement.

psycopg sends ``BEGIN`` before a transaction's first statement and waits for its answer: one round
trip of its own, a quarter of a quick cast's four. In pipeline mode it queues the ``BEGIN`` but still
waits for it at once (a ``Sync`` right behind it), so that the transaction status it reads before each
later statement is current. ``begin_with_next`` runs one statement in a pipeline without that ``Sync``:
``BEGIN``, the statement and one ``Sync`` go out together, and the pipeline's end reads both answers, one
round trip. Only one statement runs inside it, so nothing else reads the status in between.

The same class carries the lean path of ``storage.prepared``: ``run`` sends a statement straight to
libpq (prepared on the server once per connection, then sent by name), ``batch`` sends several in one
pipeline, each as it is run, and reads their answers together when the block ends, a result is asked
for or the transaction commits (a ``one_trip`` unit of work: its statements, deferred writes and
COMMIT in one round trip). BEGIN rides with a transaction's first statement there too.

The overrides rest on psycopg's ``_start_query`` and ``_deallocate`` and its ``_pipeline`` attribute
(as of psycopg 3.3); tests/storage/test_pgconn.py counts the round trips and checks the prepared
statements a rollback removes, so a psycopg release that changes them fails there, not in production.
"""

from __future__ import annotations

import asyncio
import select
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors, generators
from psycopg.abc import PQGen
from psycopg.abc import Transformer as Adapting
from psycopg.adapt import PyFormat, Transformer
from psycopg.pq import ExecStatus, TransactionStatus
from psycopg.waiting import Ready, Wait

from spell.storage import yielding

__all__ = ["LeanResult", "OneTripBegin"]

_STATEMENT_PREFIX = b"_spell_"


class OneTripBegin(psycopg.Connection[Any]):
    """A psycopg connection that can start its transaction in the round trip of its first statement."""

    _begin_unsynced = False
    may_yield = False
    _lean: _Batch | None = None
    _lean_names: dict[tuple[bytes, tuple[int, ...]], bytes] | None = None
    _lean_dumper: Adapting | None = None

    def wait(self, gen: PQGen[Any], interval: float = 0.1, timeout: float | None = None) -> Any:
        # Inside ``yielding.run`` (a quick cast on the event loop) the loop waits, not this thread; once
        # the pool handed the connection out (``may_yield``): while it opens, SQLAlchemy runs its first
        # connection's set-up under a thread lock, which a greenlet may not hold while suspended.
        if timeout is None and self.may_yield and yielding.active():
            return _drive(gen, self.pgconn.socket)
        return super().wait(gen, interval, timeout)

    # The lean path -----------------------------------------------------------------------------------
    # A cast's few statements, run through psycopg's cursor, cost more of the server's CPU in the
    # driver's Python (a cursor, query conversion, its pipeline bookkeeping: about a millisecond per
    # cast) than in libpq. Here they go to libpq directly: each statement is prepared on the server
    # once per connection and then sent by name with its parameters dumped by psycopg's own adapters,
    # always in a libpq pipeline, so a transaction's BEGIN and a batch of writes with its COMMIT
    # cost one round trip.

    @contextmanager
    def batch(self, *, eager: bool = False) -> Iterator[None]:
        """Statements ``run`` inside go in one pipeline and are read together when the block ends (or
        earlier, when one's result is asked for, or the transaction commits); an error of any of them
        is raised then. Nested: one batch, eager if the outer one is.

        ``eager``: each statement leaves as it is run (as far as the socket takes it without waiting),
        so the server works on it while this side prepares the next; for a batch whose statements have
        work between them (a ``one_trip`` unit of work, the deferred writes). Without, they leave with
        the batch's end: one send for a batch read right away.

        A block left by an exception still reads what was sent (the connection must be back in step
        before its rollback), but a statement the server refused is not raised over that exception: the
        transaction is rolled back either way. A connection that cannot be brought back in step is."""
        if self._lean is not None:
            yield
            return
        batch = self._lean = _Batch(eager)
        try:
            yield
        except BaseException:
            self._lean = None
            self._drain_moot(batch)
            raise
        self._lean = None
        self._drain(batch)

    def lean_ready(self) -> bool:
        """Whether ``run`` may be used now (not in autocommit, nor inside psycopg's own pipeline)."""
        return not self.autocommit and self._pipeline is None

    def run(self, sql: bytes, params: tuple[Any, ...]) -> LeanResult:
        """Run ``sql`` (placeholders ``$1``…) in the open transaction, or open one with it (its BEGIN
        in the same round trip). Inside ``batch`` the result is read later."""
        dumper = self._lean_transformer()
        values = dumper.dump_sequence(params, [PyFormat.TEXT] * len(params))
        key = (sql, tuple(dumper.types or ()))
        batch = self._lean
        alone = batch is None
        if batch is None:
            batch = _Batch(eager=False)
        self._lean_open(batch)
        names = self._lean_names
        if names is None:
            names = self._lean_names = {}
        name = names.get(key) or batch.preparing.get(key)
        if name is None:
            name = batch.preparing[key] = _STATEMENT_PREFIX + str(len(names) + len(batch.preparing)).encode()
            self.pgconn.send_prepare(name, sql, param_types=key[1])
            batch.slots.append((name, key))
        self.pgconn.send_query_prepared(name, values)
        result = LeanResult(self, batch)
        batch.slots.append(result)
        if alone:
            self._drain(batch)
        elif batch.eager:
            self.pgconn.flush()
        return result

    def commit_in_batch(self) -> bool:
        """Queue the transaction's COMMIT behind the batch's statements; False when no batch is open."""
        batch = self._lean
        if batch is None or not batch.open:
            return False
        self.pgconn.send_query_params(b"COMMIT", None)
        batch.slots.append(None)
        return True

    def _lean_transformer(self) -> Adapting:
        if self._lean_dumper is None:
            self._lean_dumper = Transformer(self)
        return self._lean_dumper

    def _lean_open(self, batch: _Batch) -> None:
        if batch.open:
            return
        idle = self.pgconn.transaction_status == TransactionStatus.IDLE
        self.pgconn.enter_pipeline_mode()
        batch.open = True
        if idle:
            self.pgconn.send_query_params(b"BEGIN", None)
            batch.slots.append(None)

    def _drain(self, batch: _Batch) -> None:
        """Send the batch's Sync, read every answer, leave pipeline mode; raise the first error."""
        if not batch.open:
            return
        batch.open = False
        slots, batch.slots = batch.slots, []
        batch.preparing = {}
        pgconn = self.pgconn
        failed: Any = None
        pgconn.pipeline_sync()
        self.wait(generators.send(pgconn))
        for slot in slots:
            results = self.wait(generators.fetch_many(pgconn))
            result = results[-1] if results else None
            if result is None:
                raise errors.OperationalError("the server answered fewer statements than were sent")
            status = result.status
            if status == ExecStatus.FATAL_ERROR and failed is None:
                failed = result
            if isinstance(slot, LeanResult):
                slot._result = result
            elif isinstance(slot, tuple) and status == ExecStatus.COMMAND_OK:
                name, key = slot
                if self._lean_names is not None:
                    self._lean_names[key] = name
        synced = self.wait(generators.fetch_many(pgconn))
        if not synced or synced[0].status != ExecStatus.PIPELINE_SYNC:
            if synced and synced[0].status == ExecStatus.FATAL_ERROR:
                # the server ended the session after answering the statements (a shutdown, a terminate)
                raise errors.error_from_result(synced[0], encoding=self.info.encoding)
            raise errors.OperationalError("the pipeline's end went missing")
        pgconn.exit_pipeline_mode()
        if failed is not None:
            raise errors.error_from_result(failed, encoding=self.info.encoding)

    @contextmanager
    def begin_with_next(self) -> Iterator[None]:
        """Run one statement inside: when it opens the transaction, its ``BEGIN`` costs no round trip.

        Elsewhere (a transaction open, autocommit, a pipeline already running) a no-op. Its results
        are read when the block ends; an error of either statement is raised there.
        """
        idle = self.pgconn.transaction_status == TransactionStatus.IDLE
        if not idle or self.autocommit or self._pipeline is not None:
            yield
            return
        self._begin_unsynced = True
        try:
            with self.pipeline():
                yield
        finally:
            self._begin_unsynced = False

    def _commit_gen(self) -> PQGen[None]:
        # A batch still open holds the transaction's last statements (and its COMMIT, when
        # ``commit_in_batch`` queued it): they are read now, and the COMMIT is sent only if still needed.
        if self._lean is not None and self._lean.open:
            self._drain(self._lean)
        yield from super()._commit_gen()

    def _rollback_gen(self) -> PQGen[None]:
        if self._lean is not None and self._lean.open:
            self._drain_moot(self._lean)
        yield from super()._rollback_gen()

    def _drain_moot(self, batch: _Batch) -> None:
        """Read the answers of a batch whose transaction is rolled back: a statement the server refused
        does not matter any more; a connection left out of step (lost) is raised."""
        try:
            self._drain(batch)
        except errors.Error:
            if self.pgconn.pipeline_status:
                raise

    def _deallocate(self, name: bytes | None) -> PQGen[None]:
        # psycopg sends DEALLOCATE ALL after a ROLLBACK (or DROP, ALTER …) once it prepared statements
        # of its own: ours go with them, and are prepared again on their next use.
        if name is None:
            self._lean_names = None
        yield from super()._deallocate(name)

    def _start_query(self) -> PQGen[None]:
        if self._lean is not None and self._lean.open:
            # A statement outside the lean path inside a batch: what the batch sent goes first.
            self._drain(self._lean)
        unsynced = self._begin_unsynced and self._pipeline is not None and not self._autocommit
        if unsynced and self.pgconn.transaction_status == TransactionStatus.IDLE:
            self._begin_unsynced = False  # one BEGIN: a second statement would queue another
            yield from self._exec_command(self._get_tx_start_command())
            return
        yield from super()._start_query()


class _Batch:
    """Statements sent in one pipeline and not yet read: what each answer goes to, in order."""

    __slots__ = ("eager", "open", "preparing", "slots")

    def __init__(self, eager: bool) -> None:
        self.eager = eager
        self.open = False
        self.slots: list[LeanResult | tuple[bytes, tuple[bytes, tuple[int, ...]]] | None] = []
        self.preparing: dict[tuple[bytes, tuple[int, ...]], bytes] = {}


class LeanResult:
    """A statement's answer, read as the DB-API cursor's ``fetchone``, ``fetchall`` and ``rowcount``.

    Inside a batch it is there once the batch is read; asking for it earlier reads the batch first.
    """

    __slots__ = ("_batch", "_connection", "_next", "_result")

    def __init__(self, connection: OneTripBegin, batch: _Batch) -> None:
        self._connection, self._batch = connection, batch
        self._result: Any = None
        self._next = 0

    def _ready(self) -> Any:
        if self._result is None:
            self._connection._drain(self._batch)
        return self._result

    @property
    def rowcount(self) -> int:
        tuples = self._ready().command_tuples
        return -1 if tuples is None else int(tuples)

    def fetchone(self) -> Any:
        result = self._ready()
        if self._next >= result.ntuples:
            return None
        transformer = self._connection._lean_transformer()
        transformer.set_pgresult(result)
        row = transformer.load_row(self._next, tuple)
        self._next += 1
        return row

    def fetchall(self) -> list[Any]:
        rows = []
        while (row := self.fetchone()) is not None:
            rows.append(row)
        return rows


def _drive(gen: PQGen[Any], fileno: int) -> Any:
    """psycopg's wait inside ``yielding.run``: the generator goes on while its socket is ready, and the
    loop waits when it is not (one suspension per round trip, not one per wait psycopg asks for)."""
    try:
        state = next(gen)
        while True:
            ready = _ready_now(fileno, state) or yielding.wait(_ready_later(fileno, state))
            state = gen.send(ready)
    except StopIteration as done:
        return done.value
    except OSError as exc:
        raise errors.OperationalError("connection socket closed") from exc


def _ready_now(fileno: int, state: int) -> int:
    poll = select.poll()
    poll.register(
        fileno, (select.POLLIN if state & Wait.R else 0) | (select.POLLOUT if state & Wait.W else 0)
    )
    events = 0
    for _fd, happened in poll.poll(0):
        events |= happened
    if events & (select.POLLERR | select.POLLHUP | select.POLLNVAL):
        return int(state & Wait.RW)  # the generator's next read or write meets the error
    return (Ready.R if events & select.POLLIN else 0) | (Ready.W if events & select.POLLOUT else 0)


async def _ready_later(fileno: int, state: int) -> int:
    loop = asyncio.get_running_loop()
    woken = loop.create_future()
    ready = 0

    def wake(flag: int) -> None:
        nonlocal ready
        ready |= flag
        if not woken.done():
            woken.set_result(None)

    if state & Wait.R:
        loop.add_reader(fileno, wake, Ready.R)
    if state & Wait.W:
        loop.add_writer(fileno, wake, Ready.W)
    try:
        await woken
    finally:
        if state & Wait.R:
            loop.remove_reader(fileno)
        if state & Wait.W:
            loop.remove_writer(fileno)
    return ready
