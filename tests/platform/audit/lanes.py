"""Helpers of the audit lane tests: records in a lane other than 0, on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from spell.platform.audit.service import AuditService
from spell.storage import deferred
from spell.storage.session import Database

__all__ = ["lane_zero_held", "postgres_only"]

# Lanes other than 0 exist on PostgreSQL only: SQLite's writers are serial and all use lane 0.
postgres_only = pytest.mark.parametrize("database_backend", ["postgresql"], indirect=True)


@contextmanager
def lane_zero_held(db: Database, audit: AuditService | None = None) -> Iterator[None]:
    """A transaction that appended stays open: in a fresh database it holds the engine's first
    connection, which took lane 0 (whose head it now locks); appends meanwhile take the engine's next
    connection, and so lane 1."""
    with db.unit_of_work() as held:
        (audit or AuditService()).append(held, "cast.created", actor_id="usr_held")
        deferred.run_deferred(held.session)
        yield
