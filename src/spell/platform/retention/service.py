"""Running the retention rules: each in bounded batches, one transaction per batch.

A run reduces inputs to their digest, prunes outputs and logs, deletes expired artifacts' blobs and
folds old audit records into a signed checkpoint, each after its period (``RetentionSettings``). A huge
table is never one transaction: every batch commits on its own, so a run stopped halfway keeps what it
did and the next one goes on from there. A run is idempotent, and two nodes may run at once (see
``rules.py`` and ``fold.py``). The newest report is kept in ``retention_runs`` for operators.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select

from spell.config.retention import RetentionSettings
from spell.kit.clock import Clock, SystemClock
from spell.kit.ids import new_id
from spell.kit.time import to_rfc3339
from spell.models import RetentionRun
from spell.platform.audit.checkpoint import CheckpointKey
from spell.platform.audit.service import AuditService
from spell.platform.auth.schemas import Principal
from spell.platform.retention.fold import AuditFold, FoldCutoffs
from spell.platform.retention.rules import CAST_RULES, count_expired_artifacts, delete_expired_artifacts
from spell.platform.retention.schemas import RetentionPeriods, RetentionReport, RetentionStatus
from spell.storage.blobs import BlobStore
from spell.storage.session import Database, UnitOfWork

__all__ = ["ErasurePurge", "Progress", "RetentionService"]

#: Told after every batch: the rule's name and how many rows it has changed so far in this run.
Progress = Callable[[str, int], None]


class ErasurePurge(Protocol):
    """The privacy service's side of a run: carry out the erasure requests that are due."""

    def erase_due(self, uow: UnitOfWork, now: datetime) -> int:
        """Erase what is due at ``now``; how many requests were carried out."""
        ...


def _quiet(_rule: str, _done: int) -> None:
    return None


class RetentionService:
    """Applies ``settings`` to the database and ``blobs``; checkpoints are signed with ``key``."""

    def __init__(
        self,
        settings: RetentionSettings,
        audit: AuditService,
        blobs: BlobStore,
        key: CheckpointKey,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.audit = audit
        self.blobs = blobs
        self.key = key
        self.clock = clock or SystemClock()
        self.fold = AuditFold(key)
        # Where the privacy service plugs in: set to ``PrivacyService`` (its ``erase_due``) when the
        # platform is built, due erasures run on the retention schedule, in a transaction of their own.
        self.erasure: ErasurePurge | None = None

    def run_for(self, db: Database, principal: Principal, *, dry_run: bool = False) -> RetentionReport:
        """``run`` now, asked by an operator (the REST route)."""
        principal.require_operator()
        return self.run(db, dry_run=dry_run)

    def run(
        self,
        db: Database,
        now: datetime | None = None,
        *,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> RetentionReport:
        """Apply every rule at ``now`` (default: the clock), batch by batch; ``dry_run`` only counts."""
        started = now or self.clock.now()
        report = RetentionReport(
            started_at=to_rfc3339(started),
            finished_at=to_rfc3339(started),
            dry_run=dry_run,
            periods=self.periods(),
            checkpoint_key=self.key.key_id,
        )
        if dry_run:
            with db.unit_of_work(write=False) as uow:
                self._count(uow, started, report)
        else:
            self._apply(db, started, report, progress or _quiet)
        report.finished_at = to_rfc3339(max(started, self.clock.now()))
        with db.unit_of_work() as uow:
            self._record(uow, started, report)
        return report

    def periods(self) -> RetentionPeriods:
        """The periods in force."""
        s = self.settings
        return RetentionPeriods(
            input_days=s.input_days,
            output_days=s.output_days,
            log_days=s.log_days,
            audit_days=s.audit_days,
            ledger_audit_days=s.ledger_audit_days,
        )

    def status_for(self, uow: UnitOfWork, principal: Principal) -> RetentionStatus:
        """Operator: ``status`` (the REST route)."""
        principal.require_operator()
        return self.status(uow)

    def status(self, uow: UnitOfWork) -> RetentionStatus:
        """The periods, the schedule and the newest run's report (none before the first)."""
        query = select(RetentionRun).order_by(RetentionRun.started_at.desc(), RetentionRun.id.desc()).limit(1)
        row = uow.session.scalars(query).first()
        return RetentionStatus(
            periods=self.periods(),
            interval_s=self.settings.interval_s,
            checkpoint_key=self.key.key_id,
            last_run=RetentionReport.model_validate(row.report) if row else None,
        )

    def _cutoff(self, now: datetime, days: int) -> datetime:
        return now - timedelta(days=days)

    def _fold_cutoffs(self, now: datetime) -> FoldCutoffs:
        return FoldCutoffs(
            audit=self._cutoff(now, self.settings.audit_days),
            ledger=self._cutoff(now, max(self.settings.ledger_audit_days, self.settings.audit_days)),
        )

    def _count(self, uow: UnitOfWork, now: datetime, report: RetentionReport) -> None:
        for rule in CAST_RULES:
            cutoff = self._cutoff(now, getattr(self.settings, rule.days_setting))
            setattr(report, rule.report_field, rule.count(uow, cutoff))
        report.artifacts_deleted = count_expired_artifacts(uow, now)
        report.audit_folded = self.fold.count(uow, self._fold_cutoffs(now))

    def _apply(self, db: Database, now: datetime, report: RetentionReport, progress: Progress) -> None:
        limit = self.settings.batch_size
        for rule in CAST_RULES:
            cutoff = self._cutoff(now, getattr(self.settings, rule.days_setting))
            done = 0
            while True:
                with db.unit_of_work() as uow:
                    changed, events = rule.apply(uow, cutoff, now, limit)
                report.batches += 1
                done += changed
                report.log_events_deleted += events
                progress(rule.name, done)
                if changed < limit:
                    break
            setattr(report, rule.report_field, done)
        while True:
            with db.unit_of_work() as uow:
                marked, removed = delete_expired_artifacts(uow, self.blobs, now, limit)
            report.batches += 1
            report.artifacts_deleted += marked
            report.blobs_deleted += removed
            progress("artifacts", report.artifacts_deleted)
            if marked < limit:
                break
        cutoffs = self._fold_cutoffs(now)
        while True:
            with db.unit_of_work() as uow:
                looked, folded = self.fold.batch(uow, cutoffs, now, limit)
            report.batches += 1
            report.audit_folded += folded
            progress("audit", report.audit_folded)
            if looked == 0:
                break
        if self.erasure is not None:
            with db.unit_of_work() as uow:
                report.erasures_purged = self.erasure.erase_due(uow, now)
            report.batches += 1
            progress("erasures", report.erasures_purged)

    def _record(self, uow: UnitOfWork, started: datetime, report: RetentionReport) -> None:
        newest = self.fold.repo.latest_checkpoints(uow.session)
        report.audit_checkpoints = {lane: checkpoint.last_seq for lane, checkpoint in sorted(newest.items())}
        report.audit_checkpoint_seq = report.audit_checkpoints.get(0)
        uow.session.add(
            RetentionRun(
                id=new_id("ret"),
                started_at=started,
                finished_at=max(started, self.clock.now()),
                dry_run=report.dry_run,
                report=report.model_dump(mode="json"),
            )
        )
        if not report.dry_run:
            totals = report.model_dump(
                include={
                    "inputs_reduced",
                    "outputs_pruned",
                    "logs_pruned",
                    "artifacts_deleted",
                    "blobs_deleted",
                    "audit_folded",
                    "erasures_purged",
                }
            )
            self.audit.append(uow, "retention.ran", actor_id=None, subject=report.started_at, data=totals)
        uow.session.flush()
