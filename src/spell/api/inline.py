"""``Prefer: wait`` casts run by the request itself, on a few threads of their own.

A queued cast crosses four threads before its answer leaves (request → queue worker → hub → event
loop) and commits three times (create, claim, finish). A caller who waits for the result gains
nothing from the queue, so while a slot is free the cast is created already ``running``, run and
finished on one thread, in two commits. When every slot is busy the cast takes the queue as before,
so a burst never piles up unbounded work here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from concurrent.futures import ThreadPoolExecutor

from spell.models import Cast
from spell.platform.auth.schemas import Principal
from spell.platform.cast.service import CastRequestBody
from spell.platform.cast.tasks import CastRunner

__all__ = ["InlineCasts"]


class InlineCasts:
    """Up to ``slots`` casts running on the requesting side at once (0: none, every cast is queued)."""

    def __init__(self, runner: CastRunner, slots: int) -> None:
        self._runner = runner
        self._size = slots
        self._slots = threading.BoundedSemaphore(slots) if slots > 0 else None
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
        created: concurrent.futures.Future[tuple[Cast, bool]] = concurrent.futures.Future()
        try:
            job = asyncio.get_running_loop().run_in_executor(
                self._executor(), self._run, principal, body, idempotency_key, created
            )
        except BaseException:
            self._slots.release()
            raise
        job.add_done_callback(_retrieve)
        try:
            # shield: a caller who stops waiting leaves the cast running to its end, as a queued one would
            return await asyncio.wait_for(asyncio.shield(job), wait_s)
        except TimeoutError:
            return await asyncio.wrap_future(created)

    def _run(
        self,
        principal: Principal,
        body: CastRequestBody,
        idempotency_key: str | None,
        created: concurrent.futures.Future[tuple[Cast, bool]],
    ) -> tuple[Cast, bool]:
        assert self._slots is not None  # noqa: S101 - only submitted when slots exist
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


def _retrieve(job: asyncio.Future[tuple[Cast, bool]]) -> None:
    # A cast whose caller stopped waiting may still fail; its error is recorded on the cast, not here.
    if not job.cancelled():
        job.exception()
