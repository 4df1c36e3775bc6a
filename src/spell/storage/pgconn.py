"""PostgreSQL connections whose transaction's ``BEGIN`` travels with its first statement.

psycopg sends ``BEGIN`` before a transaction's first statement and waits for its answer: one round
trip of its own, a quarter of a quick cast's four. In pipeline mode it queues the ``BEGIN`` but still
waits for it at once (a ``Sync`` right behind it), so that the transaction status it reads before each
later statement is current. ``begin_with_next`` runs one statement in a pipeline without that ``Sync``:
``BEGIN``, the statement and one ``Sync`` go out together, and the pipeline's end reads both answers, one
round trip. Only one statement runs inside it, so nothing else reads the status in between.

The override rests on psycopg's ``_start_query`` (as of psycopg 3.3); tests/storage/test_pgconn.py
counts the round trips, so a psycopg release that changes it fails there, not in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.abc import PQGen
from psycopg.pq import TransactionStatus

__all__ = ["OneTripBegin"]


class OneTripBegin(psycopg.Connection[Any]):
    """A psycopg connection that can start its transaction in the round trip of its first statement."""

    _begin_unsynced = False

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

    def _start_query(self) -> PQGen[None]:
        unsynced = self._begin_unsynced and self._pipeline is not None and not self._autocommit
        if unsynced and self.pgconn.transaction_status == TransactionStatus.IDLE:
            self._begin_unsynced = False  # one BEGIN: a second statement would queue another
            yield from self._exec_command(self._get_tx_start_command())
            return
        yield from super()._start_query()
