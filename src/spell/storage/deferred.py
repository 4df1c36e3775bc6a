"""Writes held back until just before a transaction commits.

Some rows are written by nearly every transaction: the audit head, a spell's cast counter. A row lock
taken early is held until the commit, so two concurrent casts would queue behind each other for their
whole transaction. Deferred here, such writes run at the end (after a last flush), and their locks are
held only for the commit itself. Every transaction takes them in the same order (each kind's ``order``),
so they cannot deadlock against each other.

Items deferred inside a savepoint that rolls back are dropped with it. On PostgreSQL the handlers run
in one pipeline (``prepared.pipelined``): they run their statements through ``Prepared``, whose
results are read as they are needed, not through the ORM's execution path. When the commit itself
runs them, its ``COMMIT`` goes in the same pipeline: the hot rows' locks are then held for one round
trip and the commit's flush to disk, and the transaction ends in the round trip that writes them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from spell.storage.prepared import commit_in_pipeline, pipelined

__all__ = ["OWN_COMMIT", "defer", "register", "run_deferred"]

Handler = Callable[[Session, list[Any]], None]

_KEY = "spell.deferred"  # Session.info: list of (kind, transaction, item)
_HANDLERS: dict[str, tuple[int, Handler]] = {}
# Session.info of a session whose commit is the database's: bound to an engine, not joined to a
# transaction someone else holds (whose commit only releases a savepoint). Only such a commit may ride
# in the pipeline.
OWN_COMMIT = "spell.own_commit"


def register(kind: str, handler: Handler, *, order: int) -> None:
    """``handler(session, items)`` writes the items of ``kind``; kinds run by ascending ``order``."""
    if not _HANDLERS:
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_soft_rollback", _drop_rolled_back)
    if kind not in _HANDLERS:
        _HANDLERS[kind] = (order, handler)
        ordered = sorted(_HANDLERS.items(), key=lambda pair: pair[1][0])
        _HANDLERS.clear()
        _HANDLERS.update(ordered)


def defer(session: Session, kind: str, item: Any) -> None:
    """Hold ``item`` of ``kind`` until ``session`` commits (or ``run_deferred`` is called)."""
    if kind not in _HANDLERS:
        raise ValueError(f"no handler registered for deferred writes of kind {kind!r}")
    # Begun now if it was not (no connection is taken): its rollback must drop the item too.
    transaction = session.get_nested_transaction() or session.get_transaction() or session.begin()
    session.info.setdefault(_KEY, []).append((kind, transaction, item))


def run_deferred(session: Session) -> None:
    """Write what is pending now (the commit does this itself; readers of the same transaction may)."""
    _run(session, commit=False)


def _before_commit(session: Session) -> None:
    # Fired for a savepoint's commit too: only the outermost transaction's commit may end it here.
    _run(session, commit=bool(session.info.get(OWN_COMMIT)) and session.get_nested_transaction() is None)


def _run(session: Session, *, commit: bool) -> None:
    if session.new or session.dirty or session.deleted:
        session.flush()  # ORM changes may defer more (the audit hooks run in before_flush)
    while pending := session.info.pop(_KEY, None):
        # One round trip for the writes whose results no handler reads (PostgreSQL's pipeline).
        with pipelined(session):
            for kind, (_, handler) in _HANDLERS.items():
                items = [item for item_kind, _, item in pending if item_kind == kind]
                if items:
                    handler(session, items)
            if commit and _KEY not in session.info and not (session.new or session.dirty or session.deleted):
                # Nothing is left to write: the session's own commit then finds the transaction
                # ended and sends nothing (a no-op where there is no pipeline).
                commit_in_pipeline(session)


def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(_KEY)
    if not pending:
        return
    if not previous_transaction.nested:
        session.info.pop(_KEY, None)
        return
    session.info[_KEY] = [entry for entry in pending if not _within(entry[1], previous_transaction)]


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False
