"""The embedded default broker: an in-process FIFO drained by a pool of worker threads."""

from __future__ import annotations

import logging
import queue
import threading

from spell.queue.base import Deferred, Handler, Job

__all__ = ["MemoryQueue"]

_log = logging.getLogger(__name__)
_STOP = Job(name="__stop__", id="")


class MemoryQueue:
    """Jobs live in memory only: a restart forgets queued jobs (the server re-enqueues them from the DB)."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._waiting: set[str] = set()  # ids of published jobs no worker has taken yet
        self._lock = threading.Lock()

    def publish(self, job: Job) -> None:
        """Append a job; a worker picks it up in FIFO order. A job whose id is still waiting is dropped
        (as NATS drops a repeated id), so a sweep re-publishing stale casts does not pile them up."""
        with self._lock:
            if job.id in self._waiting:
                return
            self._waiting.add(job.id)
        self._jobs.put(job)

    def start(self, handler: Handler, *, workers: int) -> None:
        """Start ``workers`` daemon threads calling ``handler``."""
        for index in range(workers):
            thread = threading.Thread(
                target=self._consume, args=(handler,), name=f"spell-worker-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Ask every worker to stop after its current job, and wait for them."""
        for _ in self._threads:
            self._jobs.put(_STOP)
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads.clear()

    def _consume(self, handler: Handler) -> None:
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            with self._lock:
                self._waiting.discard(job.id)
            try:
                handler(job)
            except Deferred as later:
                self._defer(job, later)
            except Exception:  # a worker must survive one bad job; the handler records failures itself
                _log.exception("job %s %s failed", job.name, job.id)

    def _defer(self, job: Job, later: Deferred) -> None:
        # A deferred job is waiting again: a sweep publishing its id meanwhile must not add a copy.
        with self._lock:
            self._waiting.add(job.id)
        if later.park is not None:
            if not later.park(lambda: self._jobs.put(job)):
                self._jobs.put(job)  # it may run at once: back in line
            return
        timer = threading.Timer(later.delay_s, self._jobs.put, (job,))
        timer.daemon = True
        timer.start()
