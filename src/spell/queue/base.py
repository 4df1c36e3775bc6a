"""The work-queue contract: publish a job after commit; workers call a handler per delivered job.

Delivery is at least once: a handler must be idempotent (the cast worker claims ``queued → running``
with a conditional update, so a redelivered job is a no-op).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from spell.storage.session import UnitOfWork

__all__ = ["Deferred", "Handler", "Job", "Queue", "Submits", "broker_acks", "enqueue_after_commit"]

# Set by ``broker_acks``: where publishes after a commit put the acks their caller awaits.
_ACKS: ContextVar[list[Future[None]] | None] = ContextVar("spell_queue_acks", default=None)


@dataclass(frozen=True)
class Job:
    """One unit of work: a job name (``"cast.run"``), a de-duplication id and a JSON payload.

    ``trace`` is the W3C trace context (``traceparent``) of the request that enqueued it, so the
    worker's spans join that request's trace; empty when tracing is off.
    """

    name: str
    id: str
    payload: dict[str, Any] = field(default_factory=dict)
    # Delivered before: the worker that had it handed it back, failed, or went silent (a durable
    # broker gives a job to another worker when its holder stops acknowledging progress).
    redelivered: bool = False
    trace: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Job], None]


class Deferred(Exception):
    """Raised by a handler: the job may not run yet (its tenant holds all the slots it may hold).

    A broker that keeps jobs in memory parks it: ``park(resume)`` registers ``resume`` to be called
    when the job may run and returns True, or returns False when it may run at once. A durable broker
    hands it back for redelivery after ``delay_s``.
    """

    def __init__(
        self, *, park: Callable[[Callable[[], None]], bool] | None = None, delay_s: float = 1.0
    ) -> None:
        super().__init__("the job was deferred")
        self.park = park
        self.delay_s = delay_s


class Queue(Protocol):
    """A broker: the in-process memory default, or NATS JetStream."""

    def publish(self, job: Job) -> None:
        """Hand a job to the broker (called only after the enqueuing transaction committed)."""
        ...

    def start(self, handler: Handler, *, workers: int) -> None:
        """Start ``workers`` consumers that call ``handler`` for each job."""
        ...

    def stop(self) -> None:
        """Stop consuming and wait for running handlers to return."""
        ...


@runtime_checkable
class Submits(Protocol):
    """A broker whose ``publish`` waits for the broker's ack, which can also hand a job over at once."""

    def submit(self, job: Job) -> Future[None]:
        """Hand a job to the broker without waiting; the future ends with its ack (or its refusal)."""
        ...


@contextmanager
def broker_acks() -> Iterator[list[Future[None]]]:
    """Jobs published after a commit in this block, to a broker that ``Submits``, are handed over
    without waiting for its ack: the caller gets the acks to await (an event loop may not block on a
    broker) and answers as ``publish`` would once they all came."""
    acks: list[Future[None]] = []
    token = _ACKS.set(acks)
    try:
        yield acks
    finally:
        _ACKS.reset(token)


def enqueue_after_commit(uow: UnitOfWork, queue: Queue, job: Job) -> None:
    """Buffer ``job`` on the unit of work; it is published only if the transaction commits."""
    acks = _ACKS.get()
    if acks is not None and isinstance(queue, Submits):
        uow.after_commit(lambda: acks.append(queue.submit(job)))
        return
    uow.after_commit(lambda: queue.publish(job))
