"""The ``cast.run`` job: claim ``queued → running`` once, run the sandbox, record the end in one commit."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from spell.bundle.manifest import SpellManifest
from spell.errors import SpellError
from spell.kit.time import utcnow
from spell.models import Cast, CastStatus, SpellVersion
from spell.platform.artifact.service import ArtifactService
from spell.platform.auth.schemas import Principal
from spell.platform.cast.live_events import LiveEvents
from spell.platform.cast.repository import detached_cast
from spell.platform.cast.service import CastRequestBody, CastService
from spell.platform.cast.slots import TenantSlots
from spell.queue.base import Deferred, Job
from spell.runtimes.base import CastRequest, CastResult, Limits, Outcome, Runtime, Usage
from spell.storage.session import UnitOfWork

__all__ = ["CastRunner", "status_for"]

_log = logging.getLogger(__name__)

PLATFORM_FAULT = "INTERNAL"  # the error code of a cast the platform (not the spell) failed
ORPHAN_GRACE_S = 60.0  # beyond the cast's own time limit, before a running cast counts as orphaned
# A quick attempt (``cast_quick``) runs on the request's event loop, which serves nothing else
# meanwhile: it gets this long, and a spell that overran it is not tried quickly again for a while.
QUICK_BUDGET_S = 0.010
QUICK_BENCH_S = 60.0

_CAST_COLUMNS = tuple(column.key for column in Cast.__table__.columns)
_STATUS = {
    Outcome.SUCCEEDED: CastStatus.SUCCEEDED,
    Outcome.TIMEOUT: CastStatus.TIMEOUT,
    Outcome.CANCELED: CastStatus.CANCELED,
}


class _RecordingFailed(Exception):
    """Recording the end of a quick attempt failed: its transaction (the cast's too) must roll back."""


def _ended(cast: Cast, values: dict[str, Any]) -> Cast:
    """A detached copy of ``cast`` with the values its end wrote."""
    return detached_cast({**{column: getattr(cast, column) for column in _CAST_COLUMNS}, **values})


def status_for(outcome: Outcome) -> CastStatus:
    """The cast status an outcome ends in."""
    return _STATUS.get(outcome, CastStatus.FAILED)


class CastRunner:
    """Runs ``cast.run`` jobs on the worker threads."""

    def __init__(
        self,
        casts: CastService,
        artifacts: ArtifactService,
        runtimes: dict[str, Runtime],
        work_dir: Path,
        *,
        slots: TenantSlots | None = None,
    ) -> None:
        self.casts = casts
        self.artifacts = artifacts
        self.runtimes = runtimes
        self.work_dir = work_dir
        self._versions: dict[tuple[str, str], SpellVersion] = {}
        self._slow: dict[str, float] = {}  # spell digest → until when it is not tried quickly
        # Spells that ran here on a cast thread: their module is compiled and cached, so a quick
        # attempt's time goes to running it (loading a big module could hold the event loop for long).
        self._warm: set[str] = set()
        # The queue workers' share per tenant: a tenant holding all of its own defers its next jobs.
        self.slots = slots or TenantSlots(0)

    def __call__(self, job: Job) -> None:
        """Handle one delivery (a second delivery of the same cast is a no-op); raise ``Deferred``
        while the cast's tenant holds all of its worker slots."""
        cast_id = str(job.payload["cast_id"])
        tenant = job.payload.get("tenant_id")
        if not isinstance(tenant, str):  # a job published without its tenant: run it uncounted
            self._handle(cast_id)
            return
        if not self.slots.take(tenant):
            raise Deferred(park=lambda resume: self._park(tenant, resume))
        try:
            self._handle(cast_id)
        finally:
            self.slots.give_back(tenant)

    def _handle(self, cast_id: str) -> None:
        claimed = self._claim(cast_id)
        if claimed is None:
            self._abort_if_orphaned(cast_id)
            return
        self.execute(*claimed)

    def _park(self, tenant: str, resume: Callable[[], None]) -> bool:
        """Have ``resume`` called when one of the tenant's casts ends (True), or False when a slot
        freed since the job was turned away (it may run at once)."""
        if self.slots.take(tenant, or_wait=resume):
            self.slots.give_back(tenant)
            return False
        return True

    def cast_now(
        self,
        principal: Principal,
        body: CastRequestBody,
        idempotency_key: str | None,
        *,
        on_created: Callable[[Cast, bool], None] | None = None,
    ) -> tuple[Cast, bool]:
        """Create a cast and run it in this thread, skipping the queue (``Prefer: wait`` casts).

        Returns the ended cast, or on a replay the earlier cast as it is now, and the replay flag.
        ``on_created`` gets the new (or replayed) cast and the replay flag before the cast runs.
        """
        cast, replay = self.casts.create(principal, body, idempotency_key, claim=True)
        if on_created is not None:
            on_created(cast, replay)
        if replay:
            return cast, True
        version = self.version_of(cast)
        return self.execute(cast, version), False

    def cast_quick(
        self, principal: Principal, body: CastRequestBody, idempotency_key: str | None
    ) -> tuple[Cast, bool, bool]:
        """Create a cast and, when it is a pure WASM spell, try to run it to its end within
        ``QUICK_BUDGET_S`` (see ``quick_fits``), on the calling thread and in one transaction.

        Returns the cast, the replay flag and whether it is done here: False means the cast is
        ``running`` and ``execute`` (on a thread that may block) must run it from the start.
        """
        key, digest = self.casts.admit(principal, body, idempotency_key)
        try:
            with self.casts.db.unit_of_work() as uow:
                cast, replay = self.casts.create_in(uow, principal, body, key, digest, claim=True)
                if replay:
                    return cast, True, True
                version = self._version_of(uow, cast)
                if not self.quick_fits(version):
                    return cast, False, False
                # Created, run and ended in one commit: nobody can see the cast, or cancel it, before
                # it ended. An attempt that gives up commits the cast ``running`` for the rerun.
                ended = self._attempt(uow, cast, version)
        except _RecordingFailed:
            # The cast and its attempt were rolled back together: create it again for a rerun, where
            # a fault that persists ends it as the platform's failure (``execute``).
            cast, replay = self.casts.create(principal, body, idempotency_key, claim=True)
            return cast, replay, replay
        if ended is None:
            self._slow[version.digest] = time.monotonic() + QUICK_BENCH_S
            return cast, False, False
        return ended, False, True

    def _attempt(self, uow: UnitOfWork, cast: Cast, version: SpellVersion) -> Cast | None:
        manifest = self.casts.spells.manifest_of(version)
        work = self.work_dir / cast.id if manifest.runtime.policy.fs_write else None
        token = self.casts.cancels.open(cast.id)
        try:
            try:
                result = self._run(cast, version, token, work, within_s=QUICK_BUDGET_S)
            except Exception:  # the request's edge: a fault of the runtime still ends the cast
                _log.exception("cast %s: the platform failed running it; it ends failed, free", cast.id)
                ended = self._end_as_platform_fault(cast, uow=uow)
            else:
                if result.outcome is Outcome.TIMEOUT:
                    return None  # the attempt's output, files and usage are dropped; the rerun counts
                try:
                    ended = self._finish(cast, manifest, result, uow=uow)
                except Exception as exc:  # its writes are in the creating transaction: roll all back
                    _log.exception("cast %s: recording the quick attempt failed; it runs again", cast.id)
                    raise _RecordingFailed from exc
        finally:
            self.casts.cancels.close(cast.id)
            if work is not None:
                shutil.rmtree(work, ignore_errors=True)
        assert ended is not None  # noqa: S101 - uncommitted, the cast cannot have been canceled
        cast_id, webhook = cast.id, cast.webhook_url
        uow.after_commit(lambda: self.casts.hub.notify(cast_id))
        if webhook:
            uow.after_commit(lambda: self.casts.send_webhook(webhook, cast_id))
        return _ended(cast, ended)

    def quick_fits(self, version: SpellVersion) -> bool:
        """A WASM spell with no network access (re-running it changes nothing outside the cast), whose
        time limit is over the budget, that ran here before (its module is loaded) and did not overrun
        the budget lately."""
        if version.execution != "wasm" or version.digest not in self._warm:
            return False
        benched = self._slow.get(version.digest)
        if benched is not None:
            if time.monotonic() < benched:
                return False
            self._slow.pop(version.digest, None)
        manifest = self.casts.spells.manifest_of(version)
        limit = self.casts.limits_of(manifest)
        return not manifest.runtime.policy.net_allow and limit.timeout_ms / 1000 > QUICK_BUDGET_S

    def execute(self, cast: Cast, version: SpellVersion) -> Cast:
        """Run a cast already claimed ``running`` to its end; return it as it ended.

        Whatever goes wrong on the platform's side, the cast ends here (``failed``, ``INTERNAL``, free
        of charge) rather than staying ``running`` with its money held.
        """
        cast_id = cast.id
        token = self.casts.cancels.open(cast_id)
        work: Path | None = None
        try:
            try:
                manifest = self.casts.spells.manifest_of(version)
                # Only runtimes that may write files get a work dir (making one per cast is not free).
                if version.execution != "wasm" or bool(manifest.runtime.policy.fs_write):
                    work = self.work_dir / cast_id
                result = self._run(cast, version, token, work)
                self._warm.add(version.digest)
                ended = self._finish(cast, manifest, result)
            except Exception:  # the job's edge: any fault must still end the cast
                _log.exception("cast %s: the platform failed running it; it ends failed, free", cast_id)
                ended = self._end_as_platform_fault(cast)
            if ended is not None and cast.webhook_url:
                self._send_webhook(cast.webhook_url, cast_id)
        finally:
            self.casts.cancels.close(cast_id)
            if work is not None:
                shutil.rmtree(work, ignore_errors=True)
            self.casts.hub.notify(cast_id)
        if ended is None:  # canceled while it ran: the database has the final word
            with self.casts.db.unit_of_work(write=False) as uow:
                final = uow.session.get(Cast, cast_id)
                assert final is not None  # noqa: S101 - casts are never deleted
                return final
        return _ended(cast, ended)

    def _end_as_platform_fault(self, cast: Cast, *, uow: UnitOfWork | None = None) -> dict[str, Any] | None:
        """End a ``running`` cast as ``failed`` by the platform: hold released, nothing charged, terminal
        event written. The values written, or None when it is not running any more (canceled)."""
        cast_id = cast.id
        values: dict[str, Any] = {
            "status": CastStatus.FAILED,
            "finished_at": utcnow(),
            "error_code": PLATFORM_FAULT,
            "error_message": "the platform failed while running this cast; nothing is charged",
        }
        with self.casts.db.unit_of_work() if uow is None else nullcontext(uow) as uow:
            if not self.casts.repo.move(uow, cast_id, from_status=CastStatus.RUNNING, **values):
                return None
            self.casts.money.release(uow, cast)
            data = {"status": CastStatus.FAILED, "error_code": PLATFORM_FAULT, "artifacts": 0}
            self.casts.repo.add_event(uow, cast_id, CastStatus.FAILED, data, at=values["finished_at"])
        return values

    def _send_webhook(self, url: str, cast_id: str) -> None:
        try:
            self.casts.send_webhook(url, cast_id)
        except Exception:  # the cast has ended; a failed notice must not undo that
            _log.exception("cast %s: its webhook could not be sent", cast_id)

    def sweep_orphans(self) -> int:
        """Abort casts left ``running`` by a process that died (no job will ever finish them)."""
        cutoff = utcnow() - timedelta(seconds=ORPHAN_GRACE_S)
        with self.casts.db.unit_of_work(write=False) as uow:
            stale = list(
                uow.session.scalars(
                    select(Cast.id).where(Cast.status == CastStatus.RUNNING, Cast.started_at < cutoff)
                )
            )
        for cast_id in stale:
            self._abort_if_orphaned(cast_id)
        return len(stale)

    def version_of(self, cast: Cast) -> SpellVersion:
        """The spell version a cast runs (read once per process)."""
        version = self._versions.get((cast.spell_id, cast.version))
        if version is not None:
            return version
        with self.casts.db.unit_of_work(write=False) as uow:
            return self._version_of(uow, cast)

    def _abort_if_orphaned(self, cast_id: str) -> None:
        """A redelivered job for a cast still ``running`` long past its time limit: its worker died
        (the broker redelivers what was never acked). End it as ``aborted``, free of charge."""
        if self.casts.cancels.is_running(cast_id):
            return
        repo = self.casts.repo
        with self.casts.db.unit_of_work() as uow:
            cast = uow.session.get(Cast, cast_id, populate_existing=True)
            if cast is None or cast.status != CastStatus.RUNNING or cast.started_at is None:
                return
            version = uow.session.scalar(
                select(SpellVersion).where(
                    SpellVersion.spell_id == cast.spell_id, SpellVersion.version == cast.version
                )
            )
            timeout_ms = Limits().timeout_ms
            if version is not None:
                timeout_ms = self.casts.limits_of(self.casts.spells.manifest_of(version)).timeout_ms
            if (utcnow() - cast.started_at).total_seconds() < timeout_ms / 1000 + ORPHAN_GRACE_S:
                return
            now = utcnow()
            if repo.transition(
                uow,
                cast_id,
                from_status=CastStatus.RUNNING,
                status=CastStatus.ABORTED,
                finished_at=now,
                error_code="INTERNAL",
                error_message="the worker running this cast was lost",
            ):
                self.casts.money.release(uow, cast)
                data = {"status": CastStatus.ABORTED, "error_code": "INTERNAL"}
                repo.add_event(uow, cast_id, CastStatus.ABORTED, data, at=now)
                uow.after_commit(lambda: self.casts.hub.notify(cast_id))

    def _claim(self, cast_id: str) -> tuple[Cast, SpellVersion] | None:
        with self.casts.db.unit_of_work() as uow:
            now = utcnow()
            cast = self.casts.repo.claim(uow, cast_id, started_at=now)
            if cast is None:
                return None
            self.casts.repo.add_event(
                uow, cast_id, CastStatus.RUNNING, {"status": CastStatus.RUNNING}, at=now
            )
            version = self._version_of(uow, cast)
            uow.after_commit(lambda: self.casts.hub.notify(cast_id, terminal=False))
            return cast, version

    def _version_of(self, uow: UnitOfWork, cast: Cast) -> SpellVersion:
        # A published version never changes what it runs (same version, other digest is refused), so
        # the row is read once per process; ``is_yanked`` may change but does not matter once queued.
        key = (cast.spell_id, cast.version)
        version = self._versions.get(key)
        if version is None:
            version = uow.session.scalar(
                select(SpellVersion).where(
                    SpellVersion.spell_id == cast.spell_id, SpellVersion.version == cast.version
                )
            )
            assert version is not None  # noqa: S101 - versions are never deleted
            uow.session.expunge(version)
            self._versions[key] = version
        return version

    def _run(
        self,
        cast: Cast,
        version: SpellVersion,
        token: threading.Event,
        work: Path | None,
        *,
        within_s: float | None = None,
    ) -> CastResult:
        manifest = self.casts.spells.manifest_of(version)
        runtime = self.runtimes.get(version.execution)
        if runtime is None:
            return CastResult(
                outcome=Outcome.INTERNAL, message=f"no {version.execution} runtime on this server"
            )
        if work is not None:
            work.mkdir(parents=True, exist_ok=True)
        # A WASM cast is one step: it has no step events.
        live = LiveEvents(self.casts, cast.id) if version.execution != "wasm" else None
        request = CastRequest(
            bundle_dir=self.casts.spells.bundle_dir(version),
            manifest=manifest,
            input=cast.input,
            limits=self.casts.limits_of(manifest),
            within_s=within_s,
            work_dir=work,
            cancel=token,
            progress=live.progress if live is not None else None,
            log=live.log if live is not None else None,
        )
        try:
            return runtime.run(request)
        except SpellError as exc:
            return CastResult(outcome=Outcome.INTERNAL, message=exc.message, details={"code": exc.code})
        finally:
            if live is not None:
                live.close()  # the step events are written before the cast's end

    def _finish(
        self, cast: Cast, manifest: SpellManifest, result: CastResult, *, uow: UnitOfWork | None = None
    ) -> dict[str, Any] | None:
        """Record the end in one commit (or in ``uow``); the values written, or None when the cast was
        canceled."""
        # ``cast`` is the row as claimed: money and artifacts read only fields that never change (ids,
        # spell), and the status moves by a conditional update below, so it is not read again.
        cast_id = cast.id
        repo = self.casts.repo
        status = status_for(result.outcome)
        error_code = None if result.outcome.is_success else result.details.get("code", result.outcome.value)
        with self.casts.db.unit_of_work() if uow is None else nullcontext(uow) as uow:
            usage = result.usage if isinstance(result.usage, Usage) else Usage()
            self.casts.money.settle(uow, cast, manifest, result.outcome, usage, output=result.output)
            stored = self.artifacts.store(uow, cast, result.artifacts)
            values: dict[str, Any] = {
                "status": status,
                "finished_at": utcnow(),
                "output": result.output,
                "usage": usage.to_dict(),
                "error_code": error_code,
                "error_message": _storable(result.message or result.stderr[-2000:]) if error_code else None,
            }
            if repo.end(uow, cast_id, values):
                data: dict[str, Any] = {"status": status, "artifacts": len(stored)}
                if error_code:
                    data["error_code"] = error_code
                repo.add_event(uow, cast_id, status, data, at=values["finished_at"])
                return values
            # canceled while running: keep the cancel, record what it used
            repo.move(uow, cast_id, from_status=CastStatus.CANCELED, usage=values["usage"])
            return None


def _storable(text: str) -> str | None:
    """A spell's own words as a database holds them: NUL, which PostgreSQL text refuses, as U+FFFD."""
    return text.replace("\x00", "\ufffd") or None
