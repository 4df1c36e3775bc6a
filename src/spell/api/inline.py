"""``Prefer: wait`` casts run by the request itself, on a few threads of their own or on the event loop.

A queued cast crosses four threads before its answer leaves (request → queue worker → hub → event
loop) and commits three times (create, claim, finish). A caller who waits for the result gains
nothing from the queue, so while a slot is free the cast is created already ``running``, run and
finished on one thread, in two commits. When every slot is busy the cast takes the queue as before,
so a burst never piles up unbounded work here. A tenant holds at most ``per_tenant`` of the slots:
its further casts take the queue too, and the slots left stay free for other tenants.

With ``quick`` (SQLite, whose statements never wait on a network), the cast is created on the event
loop itself, and a pure WASM spell is tried right there within a budget of a few milliseconds
(``CastRunner.cast_quick``): most casts then never leave the loop's thread, which saves the hand-offs
to and from a cast thread — under load, the largest cost of a short cast after its own work. A cast
that overruns the budget is run again from the start on a cast thread; with no network access, the
abandoned attempt left no trace outside the cast.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from spell.models import Cast
from spell.platform.auth.schemas import Principal
from spell.platform.cast.service import CastRequestBody
from spell.platform.cast.slots import TenantSlots
from spell.platform.cast.tasks import CastRunner

__all__ = ["InlineCasts"]


class InlineCasts:
    """Up to ``slots`` casts running on the requesting side at once (0: none, every cast is queued),
    up to ``per_tenant`` of them of one tenant (0: no cap)."""

    def __init__(self, runner: CastRunner, slots: int, *, per_tenant: int = 0, quick: bool = False) -> None:
        self._runner = runner
        self._quick = quick
        self._size = slots
        self._slots = threading.BoundedSemaphore(slots) if slots > 0 else None
        self._tenants = TenantSlots(per_tenant)
        self._pool: ThreadPoolExecutor | None = None  # made on first use, again after ``close``
        self._lock = threading.Lock()

    async def cast(
        self, principal: Principal, body: CastRequestBody, idempotency_key: str | None, wait_s: float
    ) -> tuple[Cast, bool] | None:
        """Create and run the cast, waiting up to ``wait_s`` for its end.

        Returns the ended cast (or, past ``wait_s``, the running one) and the replay flag; None when no
        slot is free and the caller should queue the cast instead. Errors of creation are raised.
        """
        if self._slots is None or not self._slots.acquire(blocking=False):
            return None
        if not self._tenants.take(principal.tenant_id):
            self._slots.release()
            return None
        # A webhook URL is resolved when the cast is created: never on the loop's thread.
        if self._quick and body.webhook_url is None:
            return await self._cast_quick(principal, body, idempotency_key, wait_s)
        created: concurrent.futures.Future[tuple[Cast, bool]] = concurrent.futures.Future()
        try:
            job = asyncio.get_running_loop().run_in_executor(
                self._executor(), self._run, principal, body, idempotency_key, created
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
    ) -> tuple[Cast, bool]:
        try:
            cast, replay, done = self._runner.cast_quick(principal, body, idempotency_key)
        except BaseException:
            self._free(principal.tenant_id)
            raise
        if done:
            self._free(principal.tenant_id)
            return cast, replay
        try:
            job = asyncio.get_running_loop().run_in_executor(self._executor(), self._run_created, cast)
        except BaseException:
            self._free(principal.tenant_id)
            raise
        job.add_done_callback(_retrieve)
        try:
            return await asyncio.wait_for(asyncio.shield(job), wait_s), False
        except TimeoutError:
            return cast, False  # still running; it goes on to its end

    def _run_created(self, cast: Cast) -> Cast:
        try:
            return self._runner.execute(cast, self._runner.version_of(cast))
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
            return self._runner.cast_now(
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

    def _free(self, tenant_id: str) -> None:
        assert self._slots is not None  # noqa: S101 - only called with a slot taken
        self._tenants.give_back(tenant_id)
        self._slots.release()

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self._size, thread_name_prefix="spell-cast")
            return self._pool

    def close(self) -> None:
        """Let running casts end, then stop the threads."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


def _retrieve(job: asyncio.Future[Any]) -> None:
    # A cast whose caller stopped waiting may still fail; its error is recorded on the cast, not here.
    if not job.cancelled():
        job.exception()
