"""How a requested cast runs: quick (on the event loop), inline (on a cast thread of the request side)
or queued, and the wait for its end.

A queued cast crosses four threads before its answer leaves (request → queue worker → hub → event
loop) and commits three times (create, claim, finish; two when the worker claims, runs and ends a
quick-fit spell in one transaction). On SQLite it is created on the event loop itself, as a quick
cast is, and with NATS the loop awaits the broker's ack. A caller who waits for the result
(``Prefer: wait``) gains nothing from the queue, so while an inline slot is free the cast is created
already ``running``, run and finished on one cast thread, in two commits. When every slot is busy
the cast takes the queue, so a burst never piles up unbounded work on the request side. A tenant
holds at most ``per_tenant`` of the slots: its further casts take the queue too, and the slots left
stay free for other tenants.

With ``quick``, the cast is created on the event loop itself, and a pure WASM spell is tried right
there within a budget of a few milliseconds (``CastRunner.attempt``): most casts then never leave the
loop's thread, which saves the hand-offs to and from a cast thread — under load, the largest cost of
a short cast after its own work. A cast that overruns the budget is run again from the start on a
cast thread; with no network access, the abandoned attempt left no trace outside the cast. On SQLite
the statements never wait on a network and the attempt blocks the loop while it runs. On PostgreSQL
(``quick_yields``) it runs in a greenlet whose waits for the database yield to the loop
(``storage.yielding``), at most as many at once as the database's loop connections; its write
transactions then interleave, so only free spells are tried (``quick_on_thread``), and a caller who
finds every slot taken is still tried, on the loop too (on a thread, ``cast_quick_or_queued``, when
the loop may not do it). One transaction and one commit per cast instead of two (or three through
the queue).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy.exc import IntegrityError

from spell.models import TERMINAL_STATUSES, Cast, SpellVersion
from spell.platform.auth.schemas import CAST_READ_SCOPES, Principal
from spell.platform.cast.hub import wait_event
from spell.platform.cast.repository import detached_cast, key_taken
from spell.platform.cast.runner import (
    QUICK_BUDGET_S,
    QUICK_THREAD_BUDGET_S,
    CastRunner,
    RecordingFailed,
)
from spell.platform.cast.service import CallOutFirst, CastRequestBody, CastService, Created
from spell.platform.cast.slots import TenantSlots
from spell.queue.base import Submits, broker_acks
from spell.queue.memory import MemoryQueue
from spell.storage import yielding

__all__ = ["CastOrchestrator"]

T = TypeVar("T")

# Casts kept for the long poll that follows their creation (``_remember``): one per request in flight
# is enough, as each long poll takes its cast's entry.
_QUEUED_KEPT = 1024


class CastOrchestrator:
    """Creates casts and runs them the fastest way that is free: up to ``slots`` at once on the
    request side (0: every cast is queued), up to ``per_tenant`` of them of one tenant (0: no cap)."""

    def __init__(
        self,
        casts: CastService,
        runner: CastRunner,
        *,
        slots: int,
        per_tenant: int = 0,
        quick: bool = False,
        quick_on_thread: bool = False,
        quick_yields: bool = False,
    ) -> None:
        self.casts, self.runner = casts, runner
        self.quick = quick
        # On the loop, a quick cast's database waits block it (SQLite) or yield to it (``quick_yields``,
        # PostgreSQL: in a greenlet, see ``storage.yielding``); transactions then interleave as on
        # threads (free spells only), and a cast that finds every slot taken is still tried quickly.
        self._quick_yields = quick and quick_yields
        self.quick_on_thread = quick_on_thread and (self._quick_yields or not quick)
        # each quick cast on the loop holds one of the database's loop connections while it waits
        self._loop_connections = max(casts.db.loop_connections, 1)
        self._loop_room: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self._budget_s = QUICK_THREAD_BUDGET_S if self.quick_on_thread else QUICK_BUDGET_S
        self.slots = slots
        self._taken = 0
        self._tenants = TenantSlots(per_tenant)
        self._pool: ThreadPoolExecutor | None = None  # made on first use, again after ``close``
        self._lock = threading.Lock()
        # Casts created queued here lately, for the long poll that follows them (``_remember``).
        self._queued: OrderedDict[str, tuple[Cast, int]] = OrderedDict()
        # Every queued cast runs in this process, so the hub hears of every end (else only of those
        # whose job a worker here holds: ``CastHub.held``).
        self._runs_all_here = isinstance(casts.queue, MemoryQueue)
        # A queue that takes a job without blocking the caller (see ``_create_on_loop``).
        self._loop_may_queue = self._runs_all_here or isinstance(casts.queue, Submits)

    # what a request calls ----------------------------------------------------------------------------
    async def cast(
        self, principal: Principal, body: CastRequestBody, idempotency_key: str | None, *, wait_s: float = 0
    ) -> tuple[Cast, bool]:
        """Create (or replay) a cast and run it; the cast as it is after up to ``wait_s`` seconds (ended,
        or still queued or running) and the replay flag. Errors of creation are raised."""
        if wait_s > 0:
            ran = await self._inline(principal, body, idempotency_key, wait_s)
            if ran is not None:
                cast, replay = ran
                # A replay may still be running elsewhere: wait for it like any other; a cast run here
                # either ended or used up the wait.
                if replay and cast.status not in TERMINAL_STATUSES:
                    cast = await self.wait_for_end(principal, cast.id, wait_s)
                return cast, replay
        mark = self.casts.hub.mark()
        # With every slot taken, a caller who waits may still get a quick attempt (it holds its request
        # thread no longer than a creation would, plus the budget); else, or if it gives up, the queue.
        attempt = wait_s > 0 and self.quick_on_thread
        create = self.cast_quick_or_queued if attempt else self.casts.create
        made: tuple[Cast, bool] | None = None
        if attempt and self._quick_yields and self._fits_the_loop(body):
            made = await _shielded(self._quick_or_queued_on_loop(principal, body, idempotency_key))
        elif self._create_on_loop(body):
            # CallOutFirst: another service has a say on this spell, which the loop may not wait for
            with contextlib.suppress(CallOutFirst):
                with broker_acks() as acks:
                    made = self.casts.create(principal, body, idempotency_key, on_loop=True)
                # the 202 still means the broker holds the job (a refusal answers 503, as before)
                for ack in acks:
                    await asyncio.wrap_future(ack)
        if made is None:
            made = await _blocking(create, principal, body, idempotency_key)
        cast, replay = made
        if wait_s > 0 and cast.status not in TERMINAL_STATUSES:
            cast = await self.wait_for_end(principal, cast.id, wait_s, fresh=None if replay else (cast, mark))
        if not replay and cast.status not in TERMINAL_STATUSES:
            self._remember(cast, mark)
        return cast, replay

    async def wait_for_end(
        self, principal: Principal, cast_id: str, seconds: float, *, fresh: tuple[Cast, int] | None = None
    ) -> Cast:
        """The tenant's cast once it ended, or as it is after ``seconds``; re-read on every wake-up and
        at least every second, so a cast finished by another process is noticed too.

        ``fresh`` is a cast this request just created and the hub's ``mark`` from before: while the hub
        knows it has not ended, the first read is skipped. So is it for a cast this process queued lately
        (``_remember``), asked for by its tenant, when its end will be told here: on the in-process
        queue always, on a shared one while a worker of this process holds its job (``CastHub.held``,
        asked once the watch is on, so a job let go meanwhile wakes it). The long poll that follows
        a queued cast then waits for its end without reading it first.
        """
        loop = asyncio.get_running_loop()  # the waits below time out on the loop's clock: so does this
        deadline = loop.time() + seconds
        hub = self.casts.hub
        told_here = True
        if fresh is None and seconds > 0:
            fresh = self._queued_here(principal, cast_id)
            told_here = self._runs_all_here
        while True:
            with hub.watch(cast_id, terminal_only=True) as woke:
                if (
                    fresh is not None
                    and not hub.may_have_ended(cast_id, fresh[1])
                    and (told_here or hub.held(cast_id))
                ):
                    cast = fresh[0]
                elif self.quick:  # SQLite: a read never waits on a network, nor in WAL mode on writers
                    cast = self.casts.get(principal, cast_id)
                else:
                    cast = await _blocking(self.casts.get, principal, cast_id)
                fresh = None
                remaining = deadline - loop.time()
                if cast.status in TERMINAL_STATUSES or remaining <= 0:
                    return cast
                # the caller may read this cast (read above): its ender's copy saves reading it again
                if await wait_event(woke, min(remaining, 1.0)) and woke.ended is not None:
                    return woke.ended

    def _remember(self, cast: Cast, mark: int) -> None:
        """Keep a cast this process created queued, with the hub's ``mark`` from before its creation,
        for the long poll that follows it (``wait_for_end``)."""
        # without its input (never part of an answer: ``CastOut`` shows its digest), which may be large
        kept = detached_cast(
            {k: v for k, v in vars(cast).items() if not k.startswith("_sa_")} | {"input": None}
        )
        with self._lock:
            self._queued[cast.id] = (kept, mark)
            if len(self._queued) > _QUEUED_KEPT:
                self._queued.popitem(last=False)

    def _queued_here(self, principal: Principal, cast_id: str) -> tuple[Cast, int] | None:
        """The cast and mark ``_remember`` kept, when ``principal`` may read the cast."""
        with self._lock:
            kept = self._queued.get(cast_id)
            if kept is None or kept[0].tenant_id != principal.tenant_id:
                return None  # another tenant's: its read answers not found, and the entry stays
            del self._queued[cast_id]
        principal.require_any(*CAST_READ_SCOPES)
        return kept

    def _create_on_loop(self, body: CastRequestBody) -> bool:
        """Whether a queued cast is created on the event loop itself (saving two thread hand-offs): as
        a quick cast, only where statements never wait on a network (SQLite), with no webhook URL to
        resolve, and with a queue that takes the job without waiting on a broker (in-process) or
        whose broker's ack the loop can await (``Submits``: NATS)."""
        return self.quick and not self._quick_yields and body.webhook_url is None and self._loop_may_queue

    def open_loop_connections(self) -> None:
        """Before serving: open the database connections quick casts on the loop take (PostgreSQL), so
        that none is opened on the loop, which its opening would block. Blocking: call it on a thread."""
        if self._quick_yields:
            self.casts.db.open_loop_connections()

    def free_slots(self) -> int:
        """Inline slots not taken right now."""
        with self._lock:
            return self.slots - self._taken

    def close(self) -> None:
        """Let running casts end, then stop the threads."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    # the two ways a cast runs on a calling thread ----------------------------------------------------
    def cast_now(
        self,
        principal: Principal,
        body: CastRequestBody,
        idempotency_key: str | None,
        *,
        on_created: Callable[[Cast, bool], None] | None = None,
    ) -> tuple[Cast, bool]:
        """Create a cast and run it on this thread, skipping the queue.

        Returns the ended cast, or on a replay the earlier cast as it is now, and the replay flag.
        ``on_created`` gets the new (or replayed) cast and the replay flag before the cast runs.
        """
        if self.quick_on_thread:
            created, done = self.cast_quick(principal, body, idempotency_key)
        else:
            created, done = self.casts.create_claimed(principal, body, idempotency_key), False
        if on_created is not None:
            on_created(created.cast, created.replay)
        if created.version is None or done:
            return created.cast, created.replay
        return self.runner.execute(created.cast, created.version), False

    def cast_quick(
        self,
        principal: Principal,
        body: CastRequestBody,
        idempotency_key: str | None,
        *,
        on_loop: bool = False,
    ) -> tuple[Created, bool]:
        """Create a cast and, when it is a pure WASM spell, try to run it to its end within
        ``QUICK_BUDGET_S`` (``QUICK_THREAD_BUDGET_S`` with ``quick_on_thread``; see
        ``CastRunner.quick_fits``), on this thread and in one transaction.

        Returns the cast (ended when done) and whether it is done here: False means the cast is
        ``running`` and ``CastRunner.execute`` (on a thread that may block) must run it from the start.
        ``on_loop``: this thread may not wait on another service; a spell an admission that calls out
        applies to raises ``CallOutFirst`` (nothing written).
        """
        casts = self.casts
        key, digest = casts.admit(principal, body, idempotency_key)
        budget_s = QUICK_BUDGET_S if on_loop else self._budget_s
        try:
            return self._cast_quick_in(
                principal, body, idempotency_key, key, digest, budget_s, called_out=False
            )
        except CallOutFirst:
            if on_loop:
                raise
        casts.call_out(principal, body, key, digest)
        return self._cast_quick_in(principal, body, idempotency_key, key, digest, budget_s, called_out=True)

    def _one_trip(self) -> bool:
        """Whether a quick attempt's statements are read only at its commit (``unit_of_work``'s
        ``one_trip``): on the loop on PostgreSQL, where each round trip is a suspension of its own. The
        spell then runs before the cast's row is known to be written: a taken key, found at the
        commit, rolls back an attempt that had no effect outside its transaction."""
        return self._quick_yields and yielding.active()

    def _cast_quick_in(
        self,
        principal: Principal,
        body: CastRequestBody,
        idempotency_key: str | None,
        key: str,
        digest: str,
        budget_s: float,
        *,
        called_out: bool,
    ) -> tuple[Created, bool]:
        casts = self.casts
        one_trip = self._one_trip()
        try:
            with casts.db.unit_of_work(one_trip=one_trip) as uow:
                created = casts.create_in(
                    uow,
                    principal,
                    body,
                    key,
                    digest,
                    claim=True,
                    called_out=called_out,
                    key_at_commit=one_trip,
                )
                if created.version is None:
                    return created, True
                if not self.runner.quick_fits(created.version, concurrent=self.quick_on_thread):
                    return created, False
                # Created, run and ended in one commit: nobody can see the cast, or cancel it, before
                # it ended. An attempt that gives up commits the cast ``running`` for the rerun.
                ended = self.runner.attempt(uow, created.cast, created.version, budget_s=budget_s)
        except (RecordingFailed, IntegrityError) as exc:
            # The cast and its attempt were rolled back together: create it again for a rerun, where
            # a fault that persists ends it as the platform's failure (``execute``); or the key was
            # taken by a request that committed first (``key_at_commit``), which this one replays.
            if isinstance(exc, IntegrityError) and not key_taken(exc):
                raise
            again = casts.create_claimed(principal, body, idempotency_key, called_out=True)
            return again, again.replay
        if ended is None:
            return created, False
        return Created(ended, False, created.version), True

    def cast_quick_or_queued(
        self, principal: Principal, body: CastRequestBody, idempotency_key: str | None
    ) -> tuple[Cast, bool]:
        """A quick attempt that needs no slot (see ``cast_quick``): the cast ended, or on a replay the
        earlier cast as it is now, and the replay flag. A spell that does not fit, or an attempt that
        gives up, leaves nothing behind: the cast is created queued instead (``CastService.create``)."""
        tried = self._attempt_unslotted(principal, body, idempotency_key, self._budget_s)
        if isinstance(tried, _Queue):
            return self._queue(principal, body, idempotency_key, tried)
        return tried

    async def _quick_or_queued_on_loop(
        self, principal: Principal, body: CastRequestBody, idempotency_key: str | None
    ) -> tuple[Cast, bool]:
        """``cast_quick_or_queued`` with its attempt on the loop (``quick_yields``); the queue's way
        (which may call out, or wait on a broker) on a thread."""
        tried = await self._yielding(
            self._attempt_unslotted, principal, body, idempotency_key, QUICK_BUDGET_S
        )
        if isinstance(tried, _Queue):
            return await _blocking(self._queue, principal, body, idempotency_key, tried)
        return tried

    def _attempt_unslotted(
        self, principal: Principal, body: CastRequestBody, idempotency_key: str | None, budget_s: float
    ) -> tuple[Cast, bool] | _Queue:
        casts = self.casts
        key, digest = casts.admit(principal, body, idempotency_key)
        called_out = False
        one_trip = self._one_trip()
        try:
            with casts.db.unit_of_work(one_trip=one_trip) as uow:
                try:
                    created = casts.create_in(
                        uow, principal, body, key, digest, claim=True, key_at_commit=one_trip
                    )
                except CallOutFirst:
                    called_out = True
                    raise _TakeTheQueue from None
                if created.version is None:
                    return created.cast, True
                if self.runner.quick_fits(created.version, concurrent=self.quick_on_thread):
                    ended = self.runner.attempt(uow, created.cast, created.version, budget_s=budget_s)
                    if ended is not None:
                        return ended, False
                raise _TakeTheQueue  # rolls the claimed cast back
        except (_TakeTheQueue, RecordingFailed):
            pass
        except IntegrityError as exc:  # the key's cast committed first: the queue's way replays it
            if not key_taken(exc):
                raise
        return _Queue(key, digest, called_out)

    def _queue(
        self, principal: Principal, body: CastRequestBody, idempotency_key: str | None, queue: _Queue
    ) -> tuple[Cast, bool]:
        if queue.called_out:  # a spell another service has a say on (no quick attempt fits it anyway)
            self.casts.call_out(principal, body, queue.key, queue.digest)
        return self.casts.create(principal, body, idempotency_key, called_out=True)

    # the event loop ----------------------------------------------------------------------------------
    def _fits_the_loop(self, body: CastRequestBody) -> bool:
        """Whether a quick attempt may run on the loop: no webhook URL to resolve."""
        return self.quick and body.webhook_url is None

    async def _yielding(self, fn: Callable[..., T], *args: Any) -> T:
        # Waits for one of the loop's connections (never for the pool itself, see ``storage.yielding``).
        # The loop's thread is one core: a few attempts at once keep it busy while others wait on the
        # database; more would only contend, as cast threads do for the GIL.
        loop = asyncio.get_running_loop()
        if self._loop_room is None or self._loop_room[0] is not loop:  # one per loop (a test may run several)
            self._loop_room = (loop, asyncio.Semaphore(self._loop_connections))
        async with self._loop_room[1]:
            return await yielding.run(fn, *args)

    # inline slots ------------------------------------------------------------------------------------
    async def _inline(
        self, principal: Principal, body: CastRequestBody, idempotency_key: str | None, wait_s: float
    ) -> tuple[Cast, bool] | None:
        """Create and run the cast on the request side, waiting up to ``wait_s`` for its end; None when
        no slot is free (the cast should take the queue)."""
        if not self._take(principal.tenant_id):
            return None
        # A webhook URL is resolved when the cast is created, and an admission may ask another service
        # about the spell (``CallOutFirst``): never on the loop's thread.
        if self._fits_the_loop(body):
            quick = self._cast_quick(principal, body, idempotency_key, wait_s)
            ran = await (_shielded(quick) if self._quick_yields else quick)
            if ran is not None:
                return ran
        created: concurrent.futures.Future[tuple[Cast, bool]] = concurrent.futures.Future()
        try:
            # the request's context (its trace span, its request id for logs) goes along to the cast thread
            job = asyncio.get_running_loop().run_in_executor(
                self._executor(),
                contextvars.copy_context().run,
                self._run,
                principal,
                body,
                idempotency_key,
                created,
            )
        except BaseException:
            self._free(principal.tenant_id)
            raise
        job.add_done_callback(_retrieve)
        try:
            # shield: a caller who stops waiting leaves the cast running to its end, as a queued one would
            return await asyncio.wait_for(asyncio.shield(job), wait_s)
        except TimeoutError:
            return await asyncio.wrap_future(created)

    async def _cast_quick(
        self, principal: Principal, body: CastRequestBody, idempotency_key: str | None, wait_s: float
    ) -> tuple[Cast, bool] | None:
        """``cast_quick`` on the loop, then the rest of a rerun on a cast thread; None (the slot still
        taken) when the spell needs an admission that calls out, which a cast thread must ask."""
        try:
            if self._quick_yields:
                quick = functools.partial(self.cast_quick, principal, body, idempotency_key, on_loop=True)
                created, done = await self._yielding(quick)
            else:
                created, done = self.cast_quick(principal, body, idempotency_key, on_loop=True)
        except CallOutFirst:
            return None
        except BaseException:
            self._free(principal.tenant_id)
            raise
        if done or created.version is None:
            self._free(principal.tenant_id)
            return created.cast, created.replay
        try:
            job = asyncio.get_running_loop().run_in_executor(
                self._executor(),
                contextvars.copy_context().run,
                self._run_created,
                created.cast,
                created.version,
            )
        except BaseException:
            self._free(principal.tenant_id)
            raise
        job.add_done_callback(_retrieve)
        try:
            return await asyncio.wait_for(asyncio.shield(job), wait_s), False
        except TimeoutError:
            return created.cast, False  # still running; it goes on to its end

    def _run_created(self, cast: Cast, version: SpellVersion) -> Cast:
        try:
            return self.runner.execute(cast, version)
        finally:
            self._free(cast.tenant_id)

    def _run(
        self,
        principal: Principal,
        body: CastRequestBody,
        idempotency_key: str | None,
        created: concurrent.futures.Future[tuple[Cast, bool]],
    ) -> tuple[Cast, bool]:
        try:
            return self.cast_now(
                principal,
                body,
                idempotency_key,
                on_created=lambda cast, replay: created.set_result((cast, replay)),
            )
        except BaseException as exc:
            if not created.done():
                created.set_exception(exc)
            raise
        finally:
            self._free(principal.tenant_id)

    def _take(self, tenant_id: str) -> bool:
        with self._lock:
            if self._taken >= self.slots:
                return False
            self._taken += 1
        if self._tenants.take(tenant_id):
            return True
        with self._lock:
            self._taken -= 1
        return False

    def _free(self, tenant_id: str) -> None:
        self._tenants.give_back(tenant_id)
        with self._lock:
            self._taken -= 1

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix="spell-cast")
            return self._pool


class _TakeTheQueue(Exception):
    """Rolls back a cast created for a quick attempt that did not happen or gave up."""


@dataclass(frozen=True, slots=True)
class _Queue:
    """A quick attempt that did not happen: the cast takes the queue (after asking another service,
    when ``called_out``)."""

    key: str
    digest: str
    called_out: bool


async def _shielded(work: Coroutine[Any, Any, T]) -> T:
    # A quick cast on the loop is a task of its own: a caller who stops waiting does not stop it
    # between two statements (it goes on to its end, as on a thread).
    job = asyncio.ensure_future(work)
    job.add_done_callback(_retrieve)
    return await asyncio.shield(job)


async def _blocking(fn: Callable[..., T], *args: Any) -> T:
    # Database work leaves the event loop for a worker thread (anyio's pool, as FastAPI's own).
    return await anyio.to_thread.run_sync(functools.partial(fn, *args))


def _retrieve(job: asyncio.Future[Any]) -> None:
    # A cast whose caller stopped waiting may still fail; its error is recorded on the cast, not here.
    if not job.cancelled():
        job.exception()
