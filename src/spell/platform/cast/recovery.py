"""Casts whose runner is gone: ended ``aborted`` (free of charge) or queued again.

A process that dies takes its running casts' runners, and with the in-process queue its queued jobs,
along. At start-up (``recover``) a single process ends every running cast and re-publishes every
queued one; while serving (``sweep``) each process ends running casts past their time limit plus
``ORPHAN_GRACE_S`` that no thread of its own runs, and re-publishes queued casts older than the grace.
A duplicate job is harmless: the claim runs a cast once.
"""

from __future__ import annotations

from datetime import timedelta

from spell.kit.clock import Clock
from spell.models import CastStatus
from spell.platform.cast.ending import CastEnding, lost
from spell.platform.cast.hub import CancelTokens
from spell.platform.cast.limits import CastLimits
from spell.platform.cast.repository import CastRepository
from spell.platform.cast.service import cast_job
from spell.platform.spell.service import SpellService
from spell.queue.base import Queue
from spell.runtimes.base import Limits
from spell.storage.session import Database

__all__ = ["ORPHAN_GRACE_S", "CastRecovery"]

ORPHAN_GRACE_S = 60.0  # beyond the cast's own time limit, before a running cast counts as orphaned
_WORKER_LOST = "the worker running this cast was lost"
_SERVER_STOPPED = "the server stopped while the cast ran"


class CastRecovery:
    """Finds casts left behind and ends or re-queues them through the one terminal writer."""

    def __init__(
        self,
        db: Database,
        repo: CastRepository,
        ending: CastEnding,
        spells: SpellService,
        limits: CastLimits,
        cancels: CancelTokens,
        queue: Queue,
        clock: Clock,
    ) -> None:
        self.db, self.repo, self.ending, self.spells = db, repo, ending, spells
        self.limits, self.cancels, self.queue, self.clock = limits, cancels, queue, clock

    def recover(self) -> None:
        """At the start of the only process: end every running cast, queue every queued one again."""
        with self.db.unit_of_work() as uow:
            for cast_id in self.repo.running_ids(uow):
                cast = self.repo.fresh(uow, cast_id)
                if cast is not None:
                    self.ending.end(uow, cast, lost(_SERVER_STOPPED))
            queued = self.repo.queued_jobs(uow)
        for cast_id, tenant_id in queued:
            self.queue.publish(cast_job(cast_id, tenant_id))

    def sweep_orphans(self) -> int:
        """Abort casts left ``running`` by a runner that died; how many were old enough to look at."""
        cutoff = self.clock.now() - timedelta(seconds=ORPHAN_GRACE_S)
        with self.db.unit_of_work(write=False) as uow:
            stale = self.repo.running_ids(uow, started_before=cutoff)
        for cast_id in stale:
            self.abort_if_orphaned(cast_id)
        return len(stale)

    def requeue_stale(self) -> int:
        """Publish again casts queued longer than the grace (their job died with a process, or its
        publishing failed after the commit); how many."""
        cutoff = self.clock.now() - timedelta(seconds=ORPHAN_GRACE_S)
        with self.db.unit_of_work(write=False) as uow:
            stale = self.repo.queued_jobs(uow, created_before=cutoff)
        for cast_id, tenant_id in stale:
            self.queue.publish(cast_job(cast_id, tenant_id))
        return len(stale)

    def abort_if_orphaned(self, cast_id: str, *, redelivered: bool = False) -> None:
        """End the cast ``aborted`` when it is still ``running``, no thread of this process runs it,
        and either its job was ``redelivered`` or it is past its time limit and the grace (a job
        delivered again or the sweep found it).

        A durable broker redelivers a claimed cast's job only once its worker stopped telling it the
        job is in progress: that worker died (or lost the broker), so the cast need not wait out its
        time limit. Should the worker still be alive, the conditional end lets one of the two end it
        and the released hold leaves nothing to capture.
        """
        if self.cancels.is_running(cast_id):
            return
        with self.db.unit_of_work() as uow:
            cast = self.repo.fresh(uow, cast_id)
            if cast is None or cast.status != CastStatus.RUNNING or cast.started_at is None:
                return
            if redelivered:
                self.ending.end(uow, cast, lost(_WORKER_LOST))
                return
            version = self.repo.version_of(uow, cast.spell_id, cast.version)
            timeout_ms = Limits().timeout_ms
            if version is not None:
                timeout_ms = self.limits.of(self.spells.manifest_of(version)).timeout_ms
            age_s = (self.clock.now() - cast.started_at).total_seconds()
            if age_s < timeout_ms / 1000 + ORPHAN_GRACE_S:
                return
            self.ending.end(uow, cast, lost(_WORKER_LOST))
