"""Running casts: the ``cast.run`` job (claim ``queued → running`` once), a cast already claimed by its
creator, and the quick attempt inside the creating transaction. Every end goes through ``CastEnding``."""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from spell.bundle.manifest import SpellManifest
from spell.errors import SpellError
from spell.kit.clock import Clock
from spell.models import Cast, CastStatus, SpellVersion
from spell.platform import logs, metrics, tracing
from spell.platform.artifact.service import ArtifactService
from spell.platform.cast.ending import PLATFORM_FAULT, CastEnding, Ending, ended_copy, platform_fault
from spell.platform.cast.hub import CancelTokens, CastHub
from spell.platform.cast.limits import CastLimits
from spell.platform.cast.live_events import EventWriter, LiveEvents
from spell.platform.cast.money import CastMoney
from spell.platform.cast.repository import CastRepository, key_taken
from spell.platform.cast.slots import TenantSlots
from spell.platform.spell.service import SpellService
from spell.queue.base import Deferred, Job
from spell.runtimes.base import CastRequest, CastResult, Outcome, Runtime, Usage
from spell.storage.session import Database, UnitOfWork

__all__ = [
    "PLATFORM_FAULT",
    "QUICK_BENCH_S",
    "QUICK_BUDGET_S",
    "QUICK_FIRST_BENCH_S",
    "QUICK_THREAD_BUDGET_S",
    "CastRunner",
    "RecordingFailed",
    "status_for",
]

_log = logging.getLogger(__name__)

# A quick attempt (``attempt``) runs on the request's event loop, which serves nothing else
# meanwhile: it gets this long, and a spell that overran it is not tried quickly again for a while.
QUICK_BUDGET_S = 0.010
# On a cast thread (PostgreSQL) nothing else waits for the attempt, and its open transaction holds only
# the new cast's rows (free spells only; hot rows are written at the commit): a longer budget, so a busy
# moment of the machine does not bench the spell. It still bounds how long the cast is invisible.
QUICK_THREAD_BUDGET_S = 0.050
WASM_STEP = "wasm"  # the step name of a WASM cast's log events: the module is its one step
# A spell that overran its attempt is benched (not tried quickly) for QUICK_FIRST_BENCH_S, twice as
# long after each further overrun in a row, at most QUICK_BENCH_S. One overrun is as often the
# machine's (a busy moment preempted the loop) as the spell's: a short first bench keeps a busy
# server's casts off the slower thread path, and a spell that is really slow reaches the full bench
# after seven overruns in a row (about a minute of benches between them).
QUICK_FIRST_BENCH_S = 1.0
QUICK_BENCH_S = 60.0

_STATUS = {
    Outcome.SUCCEEDED: CastStatus.SUCCEEDED,
    Outcome.TIMEOUT: CastStatus.TIMEOUT,
    Outcome.CANCELED: CastStatus.CANCELED,
}


class RecordingFailed(Exception):
    """Recording the end of a quick attempt failed: its transaction (the cast's too) must roll back."""


class OrphanCheck(Protocol):
    """Ends a cast whose claim was missed because its runner died (``CastRecovery``)."""

    def abort_if_orphaned(self, cast_id: str, *, redelivered: bool = False) -> None:
        """End the cast ``aborted`` when it is running with no runner here: long past its limit, or
        at once when its job was ``redelivered`` (the runner holding it went silent)."""
        ...


@dataclass(frozen=True)
class RunnerParts:
    """What a runner works with, built once by the platform."""

    db: Database
    repo: CastRepository
    spells: SpellService
    limits: CastLimits
    money: CastMoney
    ending: CastEnding
    hub: CastHub
    cancels: CancelTokens
    events: EventWriter
    orphans: OrphanCheck
    artifacts: ArtifactService
    clock: Clock


def status_for(outcome: Outcome) -> CastStatus:
    """The cast status an outcome ends in."""
    return _STATUS.get(outcome, CastStatus.FAILED)


class CastRunner:
    """Runs casts on the worker threads (``cast.run`` jobs) and for the requests that wait for them."""

    def __init__(
        self,
        parts: RunnerParts,
        runtimes: dict[str, Runtime],
        work_dir: Path,
        *,
        slots: TenantSlots | None = None,
        quick_jobs: bool = False,
    ) -> None:
        self.parts = parts
        self.artifacts = parts.artifacts
        self.runtimes = runtimes
        self.work_dir = work_dir
        self._versions: dict[tuple[str, str], SpellVersion] = {}
        self._slow: dict[str, float] = {}  # spell digest → until when (clock's monotonic) not tried quickly
        self._overruns: dict[str, int] = {}  # spell digest → attempts in a row that overran the budget
        # The same for the queue workers' attempts: one overrun by a worker does not bench the spell's
        # quick casts on the request side, where the event loop's attempts have a bench of their own.
        self._slow_jobs: dict[str, float] = {}
        self._job_overruns: dict[str, int] = {}
        # Spells that ran here on a cast thread: their module is compiled and cached, so a quick
        # attempt's time goes to running it (loading a big module could hold the event loop for long).
        self._warm: set[str] = set()
        # The queue workers' share per tenant: a tenant holding all of its own defers its next jobs.
        self.slots = slots or TenantSlots(0)
        # A job whose spell would fit a quick attempt is claimed, run and ended in one transaction.
        # Write transactions run side by side except on SQLite (see ``quick_fits``).
        self.quick_jobs = quick_jobs
        self._concurrent = parts.db.engine.dialect.name != "sqlite"

    # the cast.run job ------------------------------------------------------------------------------
    def __call__(self, job: Job) -> None:
        """Handle one delivery (a second delivery of the same cast is a no-op); raise ``Deferred``
        while the cast's tenant holds all of its worker slots."""
        cast_id = str(job.payload["cast_id"])
        tenant = job.payload.get("tenant_id")
        # A long poll of this process may wait for the cast's end without reading it meanwhile.
        with self.parts.hub.holding(cast_id):
            if not isinstance(tenant, str):  # a job published without its tenant: run it uncounted
                self._handle(cast_id, job)
                return
            if not self.slots.take(tenant):
                raise Deferred(park=lambda resume: self._park(tenant, resume))
            try:
                self._handle(cast_id, job)
            finally:
                self.slots.give_back(tenant)

    def _handle(self, cast_id: str, job: Job) -> None:
        # the worker's spans join the trace of the request that queued the cast
        with tracing.resumed(job.trace), logs.cast_context(cast_id):
            try:
                claimed = self._claim(cast_id, quick=self.quick_jobs)
            except RecordingFailed:  # the claim rolled back with the attempt: claim it on its own
                claimed = self._claim(cast_id, quick=False)
            if claimed is None:
                # Claimed before: by a live runner (nothing to do), or by one whose job came back
                # because it went silent (``redelivered``): the cast is ended, never run a second time.
                self.parts.orphans.abort_if_orphaned(cast_id, redelivered=job.redelivered)
                return
            cast, version, ended = claimed
            if ended is None:
                self.execute(cast, version)

    def _park(self, tenant: str, resume: Callable[[], None]) -> bool:
        """Have ``resume`` called when one of the tenant's casts ends (True), or False when a slot
        freed since the job was turned away (it may run at once)."""
        if self.slots.take(tenant, or_wait=resume):
            self.slots.give_back(tenant)
            return False
        return True

    def _claim(self, cast_id: str, *, quick: bool) -> tuple[Cast, SpellVersion, Cast | None] | None:
        """Claim a queued cast (None when it was not queued any more); with ``quick``, a spell that
        fits a quick attempt is run and ended in the claiming transaction too (the third value, else
        None: the cast is committed ``running`` and ``execute`` runs it).

        Claimed, run and ended in one commit, a cast is ``queued`` to everyone else until it ended: a
        worker that dies meanwhile leaves no claim behind, and its redelivered job runs the cast (the
        spell has no network access, so the lost attempt left no trace). ``RecordingFailed`` when
        the attempt's end could not be recorded: the claim rolled back with it.
        """
        parts = self.parts
        with parts.db.unit_of_work() as uow:
            now = parts.clock.now()
            cast = parts.repo.claim(uow, cast_id, started_at=now)
            if cast is None:
                return None
            parts.ending.webhooks.running(uow, cast)
            version = self._version_of(uow, cast)
            uow.after_commit(lambda: parts.hub.notify(cast_id, terminal=False))
            if not quick or not self.quick_fits(version, concurrent=self._concurrent, job=True):
                return cast, version, None
            budget = QUICK_THREAD_BUDGET_S if self._concurrent else QUICK_BUDGET_S
            return cast, version, self.attempt(uow, cast, version, budget_s=budget, job=True)

    def _version_of(self, uow: UnitOfWork, cast: Cast) -> SpellVersion:
        # A job names its cast only. A published version never changes what it runs (same version,
        # other digest is refused), so the row is read once per process; ``is_yanked`` may change but
        # does not matter once queued.
        key = (cast.spell_id, cast.version)
        version = self._versions.get(key)
        if version is None:
            version = self.parts.repo.version_of(uow, cast.spell_id, cast.version)
            assert version is not None  # noqa: S101 - versions are never deleted
            uow.session.expunge(version)
            metrics.note_runtime(version.digest, version.execution)
            self._versions[key] = version
        return version

    # a claimed cast, run to its end ----------------------------------------------------------------
    def execute(self, cast: Cast, version: SpellVersion) -> Cast:
        """Run a cast already claimed ``running`` to its end; return it as it ended.

        Whatever goes wrong on the platform's side, the cast ends here (``failed``, ``INTERNAL``, free
        of charge) rather than staying ``running`` with its money held.
        """
        with logs.cast_context(cast.id):
            return self._execute(cast, version)

    def _execute(self, cast: Cast, version: SpellVersion) -> Cast:
        parts = self.parts
        cast_id = cast.id
        token = parts.cancels.open(cast_id)
        work: Path | None = None
        try:
            try:
                manifest = parts.spells.manifest_of(version)
                # Only runtimes that may write files get a work dir (making one per cast is not free).
                if version.execution != "wasm" or bool(manifest.runtime.policy.fs_write):
                    work = self.work_dir / cast_id
                result = self._run(cast, version, token, work)
                self._warm.add(version.digest)
                ended = self._finish(cast, manifest, result)
            except Exception:  # the job's edge: any fault must still end the cast
                _log.exception("cast %s: the platform failed running it; it ends failed, free", cast_id)
                ended = self._end(cast, platform_fault())
        finally:
            parts.cancels.close(cast_id)
            if work is not None:
                shutil.rmtree(work, ignore_errors=True)
        if ended is None:  # canceled while it ran: the database has the final word
            parts.hub.notify(cast_id)
            with parts.db.unit_of_work(write=False) as uow:
                final = parts.repo.fresh(uow, cast_id)
                assert final is not None  # noqa: S101 - casts are never deleted
                return final
        return ended_copy(cast, ended)

    # the quick attempt -----------------------------------------------------------------------------
    def quick_fits(self, version: SpellVersion, *, concurrent: bool = False, job: bool = False) -> bool:
        """A WASM spell with no network access (re-running it changes nothing outside the cast), whose
        time limit is over the budget, that ran here before (its module is loaded) and did not overrun
        the budget lately.

        ``concurrent``: write transactions run side by side (PostgreSQL), so only a free spell fits. A
        priced cast's hold and capture in one transaction would lock its caster's ledger rows in two
        batches, each sorted, which a concurrent capture of the same accounts may take the other way
        round: a deadlock, where separate transactions only queue. The attempt then runs on a cast
        thread, within ``QUICK_THREAD_BUDGET_S``.

        ``job``: for a queue worker's attempt, which a worker's own overruns bench as well."""
        if version.execution != "wasm" or version.digest not in self._warm:
            return False
        for bench in (self._slow, self._slow_jobs) if job else (self._slow,):
            benched = bench.get(version.digest)
            if benched is not None:
                if self.parts.clock.monotonic() < benched:
                    return False
                bench.pop(version.digest, None)
        manifest = self.parts.spells.manifest_of(version)
        if concurrent and not _free(manifest):
            return False
        limit = self.parts.limits.of(manifest)
        budget = QUICK_THREAD_BUDGET_S if concurrent else QUICK_BUDGET_S
        return not manifest.runtime.policy.net_allow and limit.timeout_ms / 1000 > budget

    def attempt(
        self,
        uow: UnitOfWork,
        cast: Cast,
        version: SpellVersion,
        *,
        budget_s: float = QUICK_BUDGET_S,
        job: bool = False,
    ) -> Cast | None:
        """Run a cast just created (or claimed) ``running`` in ``uow`` within ``budget_s`` and end it
        there.

        None when the attempt gave up (the budget ran out): nothing of it is kept, the spell is not
        tried quickly for a while (``QUICK_FIRST_BENCH_S``, doubled per overrun in a row; by queue
        workers only, for a worker's ``job``), and ``execute`` must run the cast from the start once
        ``uow`` committed. ``RecordingFailed`` when its end could not be recorded: roll ``uow`` back.
        """
        parts = self.parts
        manifest = parts.spells.manifest_of(version)
        work = self.work_dir / cast.id if manifest.runtime.policy.fs_write else None
        token = parts.cancels.open(cast.id)
        try:
            try:
                result = self._run(cast, version, token, work, within_s=budget_s)
            except Exception:  # the request's edge: a fault of the runtime still ends the cast
                _log.exception("cast %s: the platform failed running it; it ends failed, free", cast.id)
                ended = self._end(cast, platform_fault(), uow=uow)
            else:
                if result.outcome is Outcome.TIMEOUT:
                    # the attempt's output, files and usage are dropped; the rerun counts
                    self._bench(version.digest, job=job)
                    return None
                (self._job_overruns if job else self._overruns).pop(version.digest, None)
                try:
                    ended = self._finish(cast, manifest, result, uow=uow)
                except Exception as exc:  # its writes are in the creating transaction: roll all back
                    if key_taken(exc):  # the create's answer, read here: the request is a replay
                        raise
                    _log.exception("cast %s: recording the quick attempt failed; it runs again", cast.id)
                    raise RecordingFailed from exc
        finally:
            parts.cancels.close(cast.id)
            if work is not None:
                shutil.rmtree(work, ignore_errors=True)
        assert ended is not None  # noqa: S101 - uncommitted, the cast cannot have been canceled
        return ended_copy(cast, ended)

    def _bench(self, digest: str, *, job: bool) -> None:
        counts, slow = (self._job_overruns, self._slow_jobs) if job else (self._overruns, self._slow)
        overruns = counts.get(digest, 0) + 1
        counts[digest] = overruns
        bench = min(QUICK_BENCH_S, QUICK_FIRST_BENCH_S * 2 ** min(overruns - 1, 16))
        slow[digest] = self.parts.clock.monotonic() + bench

    # running and recording -------------------------------------------------------------------------
    def _run(
        self,
        cast: Cast,
        version: SpellVersion,
        token: threading.Event,
        work: Path | None,
        *,
        within_s: float | None = None,
    ) -> CastResult:
        parts = self.parts
        manifest = parts.spells.manifest_of(version)
        runtime = self.runtimes.get(version.execution)
        if runtime is None:
            return CastResult(
                outcome=Outcome.INTERNAL, message=f"no {version.execution} runtime on this server"
            )
        if work is not None:
            work.mkdir(parents=True, exist_ok=True)
        # A WASM cast is one step: no step events, and its stderr is told once, when it ends.
        wasm = version.execution == "wasm"
        live = None if wasm else LiveEvents(parts.events, cast.id)
        request = CastRequest(
            bundle_dir=parts.spells.bundle_dir(version),
            manifest=manifest,
            input=cast.input,
            limits=parts.limits.of(manifest),
            within_s=within_s,
            work_dir=work,
            cancel=token,
            progress=live.progress if live is not None else None,
            log=live.log if live is not None else None,
            tenant_id=cast.tenant_id,
        )
        try:
            with tracing.span("spell.run", cast_id=cast.id, runtime=version.execution):
                result = runtime.run(request)
            if wasm and result.log:
                live = LiveEvents(parts.events, cast.id)
                live.log(WASM_STEP, "stderr", result.log)
            return result
        except SpellError as exc:
            return CastResult(outcome=Outcome.INTERNAL, message=exc.message, details={"code": exc.code})
        finally:
            if live is not None:
                live.close()  # the step events are written before the cast's end

    def _end(self, cast: Cast, ending: Ending, *, uow: UnitOfWork | None = None) -> dict[str, Any] | None:
        """End ``cast`` in a commit of its own, or in ``uow``: the quick attempt's, which created or
        claimed it."""
        fresh = uow is not None
        with self.parts.db.unit_of_work() if uow is None else nullcontext(uow) as uow:
            return self.parts.ending.end(uow, cast, ending, fresh=fresh, hand_over=True)

    def _finish(
        self, cast: Cast, manifest: SpellManifest, result: CastResult, *, uow: UnitOfWork | None = None
    ) -> dict[str, Any] | None:
        """Record the end in one commit (or in ``uow``, the quick attempt's, which created the cast); the
        values written, or None when the cast was canceled."""
        # ``cast`` is the row as claimed: money and artifacts read only fields that never change (ids,
        # spell), and the status moves by a conditional update, so it is not read again.
        parts = self.parts
        error_code = None if result.outcome.is_success else result.details.get("code", result.outcome.value)
        usage = result.usage if isinstance(result.usage, Usage) else Usage()
        fresh = uow is not None
        with parts.db.unit_of_work() if uow is None else nullcontext(uow) as uow:
            # Settled whether or not a cancel came first: a canceled run still pays for what it used.
            parts.money.settle(uow, cast, manifest, result.outcome, usage, output=result.output)
            stored = self.artifacts.store(uow, cast, result.artifacts)
            ending = Ending(
                status_for(result.outcome),
                error_code,
                _storable(result.message or result.stderr[-2000:]) if error_code else None,
                values={"output": result.output, "usage": usage.to_dict()},
                event={"artifacts": len(stored), **({"error_code": error_code} if error_code else {})},
            )
            values = parts.ending.end(uow, cast, ending, release=False, fresh=fresh, hand_over=True)
            if values is None:  # canceled while running: keep the cancel, record what it used
                parts.repo.move(uow, cast.id, from_status=CastStatus.CANCELED, usage=ending.values["usage"])
            return values


def _free(manifest: SpellManifest) -> bool:
    """No pricing and no spell-runtime billing: a cast of it holds and moves no money."""
    return manifest.pricing.model == "free" and not manifest.billing.enabled


def _storable(text: str) -> str | None:
    """A spell's own words as a database holds them: NUL, which PostgreSQL text refuses, as U+FFFD."""
    return text.replace("\x00", "\ufffd") or None
