"""NATS JetStream broker: a work-queue stream, ``Nats-Msg-Id`` = job id (server-side de-duplication),
a durable pull consumer with explicit ack, and redelivery of jobs whose worker died.

A worker tells the broker its job is in progress every third of ``ack_wait``: a long cast keeps its
job, and the job of a worker that died goes to another one within ``ack_wait`` (seconds), which then
finds the cast ``running`` with no runner (see ``Job.redelivered``).

nats-py is asynchronous and the platform's queue contract is not, so the client lives on its own
event-loop thread; ``publish`` hands coroutines to it and waits for the broker's ack.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from spell.errors import Overloaded
from spell.queue.base import Deferred, Handler, Job

__all__ = ["NatsQueue"]

_log = logging.getLogger(__name__)

_JS_API = "$JS.API"
_PULL_ONE = json.dumps({"batch": 1}).encode()
_STOP_HEADER = "Spell-Worker-Stop"
_REPULL_DELAY_S = 0.5
# Jobs handed out and not yet acknowledged, all workers of every process together: each worker holds
# one at a time, and a dead worker's stay counted until ``ack_wait`` gives them to another.
_MAX_ACK_PENDING = 1024
_CLOSE_S = 10.0  # after the grace: for workers handing their jobs back, and for the connection


class NatsQueue:
    """Jobs on the JetStream stream ``stream`` (subjects ``<subject>.<job name>``)."""

    def __init__(
        self,
        url: str,
        *,
        stream: str = "SPELL_JOBS",
        subject: str = "spell.jobs",
        durable: str = "spell-workers",
        ack_wait_s: float = 10.0,
        stop_grace_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        reconnect: bool = False,
    ) -> None:
        self.url, self.stream, self.subject, self.durable = url, stream, subject, durable
        self.ack_wait_s = ack_wait_s
        # How long ``stop`` lets running jobs finish before handing them back to the broker.
        self.stop_grace_s = stop_grace_s
        self.unfinished = 0  # jobs still running when the grace ran out, handed back
        self.disconnected = threading.Event()  # the connection closed before ``stop``
        # A publisher (an API node) rides out a broker restart: publishes fail with 503 meanwhile.
        # A consumer exits instead, for its supervisor to start it afresh with new pull loops.
        self.reconnect = reconnect
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="spell-nats", daemon=True)
        self._thread.start()
        self._stopping = threading.Event()
        self._abandon = asyncio.Event()  # set on the loop once the grace ran out
        self._consumers: list[Future[None]] = []
        # Handlers run here, one thread per pull loop (the loop's default pool caps at cpu + 4).
        self._threads: ThreadPoolExecutor | None = None
        self._inboxes: list[str] = []
        self._nc: Any = None
        self._js: Any = None
        try:
            self._call(self._connect(connect_timeout_s), timeout=connect_timeout_s + 5)
        except BaseException:
            self._shutdown_loop()
            raise

    @classmethod
    def for_deployment(cls, url: str, name: str = "spell", **options: Any) -> NatsQueue:
        """The stream ``<NAME>_JOBS``, subjects ``<name>.jobs.*`` and consumer ``<name>-workers`` of
        one deployment (``SPELL_SERVER_QUEUE_NAME``); ``options`` as for the constructor."""
        return cls(
            url, stream=f"{name.upper()}_JOBS", subject=f"{name}.jobs", durable=f"{name}-workers", **options
        )

    def _shutdown_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def _call(self, coro: Any, *, timeout: float = 10.0) -> Any:
        from nats.errors import ConnectionClosedError

        try:
            return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)
        except (TimeoutError, OSError, ConnectionClosedError) as exc:
            raise self._unanswered(exc) from exc

    def _unanswered(self, exc: BaseException) -> Overloaded:
        return Overloaded(f"the NATS broker at {self.url} did not answer: {exc}", retry_after=5)

    async def _connect(self, timeout: float) -> None:
        import nats
        from nats.js.api import RetentionPolicy, StreamConfig

        try:
            self._nc = await nats.connect(
                self.url,
                connect_timeout=timeout,
                allow_reconnect=self.reconnect,
                max_reconnect_attempts=-1 if self.reconnect else 1,
                reconnect_time_wait=0.5,
                closed_cb=self._closed,
            )
        except Exception as exc:  # nats-py raises its own error types; all mean "no broker"
            raise OSError(str(exc) or type(exc).__name__) from exc
        self._js = self._nc.jetstream()
        config = StreamConfig(
            name=self.stream,
            subjects=[f"{self.subject}.>"],
            retention=RetentionPolicy.WORK_QUEUE,
            duplicate_window=120.0,
        )
        try:
            await self._js.add_stream(config)
        except Exception:  # the stream exists with another config: keep it, the subjects match
            await self._js.update_stream(config)

    async def _closed(self) -> None:
        if not self._stopping.is_set():
            _log.error("the connection to the NATS broker at %s closed", self.url)
            self.disconnected.set()

    def publish(self, job: Job) -> None:
        """Publish and wait for the stream's ack; a repeated job id inside the window is dropped."""
        self._call(self._publish(job))

    def submit(self, job: Job) -> Future[None]:
        """``publish`` without waiting: the future ends with the stream's ack, or ``Overloaded``."""
        return asyncio.run_coroutine_threadsafe(self._publish(job), self._loop)

    async def _publish(self, job: Job) -> None:
        from nats.errors import ConnectionClosedError

        body = json.dumps(
            {"name": job.name, "id": job.id, "payload": job.payload, "trace": job.trace}
        ).encode()
        subject = f"{self.subject}.{job.name.replace('.', '_')}"
        try:
            await self._js.publish(subject, body, headers={"Nats-Msg-Id": job.id})
        except (TimeoutError, OSError, ConnectionClosedError) as exc:
            raise self._unanswered(exc) from exc

    def start(self, handler: Handler, *, workers: int) -> None:
        """Start ``workers`` pull loops; each runs the handler in a thread and acks after it returns."""
        from nats.js.api import AckPolicy, ConsumerConfig

        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait_s,
            max_ack_pending=max(workers * 4, _MAX_ACK_PENDING),
            filter_subject=f"{self.subject}.>",
        )
        self._call(self._ensure_consumer(config))
        self._threads = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="spell-job")
        for _ in range(workers):
            inbox = self._nc.new_inbox()
            self._inboxes.append(inbox)
            self._consumers.append(
                asyncio.run_coroutine_threadsafe(self._consume(inbox, handler), self._loop)
            )

    async def _ensure_consumer(self, config: Any) -> None:
        """Create the durable consumer, or bring an existing one to this ``ack_wait`` (never lowering
        its ``max_ack_pending``); its pending jobs stay pending."""
        import nats.js.errors

        try:
            info = await self._js.consumer_info(self.stream, self.durable)
        except nats.js.errors.NotFoundError:
            await self._js.add_consumer(self.stream, config)
            return
        current = info.config
        pending = current.max_ack_pending or 0
        if abs((current.ack_wait or 0) - config.ack_wait) < 1e-3 and pending >= config.max_ack_pending:
            return
        config.max_ack_pending = max(config.max_ack_pending, pending)
        # Adding a durable consumer that exists updates its editable fields (ack_wait among them).
        await self._js.add_consumer(self.stream, config)

    async def _consume(self, inbox: str, handler: Handler) -> None:
        # Each worker keeps one pull request for one job waiting at the consumer, with no expiry.
        # nats-server 2.9 drops a redelivery (a nak'ed or deferred job) that it hands to a pull
        # request expiring at that instant: the job then stays unacked until ack_wait. A request
        # that never expires cannot lose that race, so the worker waits on it until a job or
        # ``stop`` arrives instead of polling with short-lived requests.
        subscription = await self._nc.subscribe(inbox)
        next_subject = f"{_JS_API}.CONSUMER.MSG.NEXT.{self.stream}.{self.durable}"
        try:
            while not self._stopping.is_set():
                await self._nc.publish(next_subject, _PULL_ONE, reply=inbox)
                message = await self._next_job(subscription, next_subject, inbox)
                if message is None:
                    return
                await self._run(message, handler)
        finally:
            await self._hand_back_pending(subscription)

    async def _next_job(self, subscription: Any, next_subject: str, inbox: str) -> Any:
        """The job delivered to this worker's pull request, or None once ``stop`` woke it."""
        while True:
            message = await subscription.next_msg(timeout=None)
            headers = message.headers or {}
            if headers.get(_STOP_HEADER):
                return None
            status = headers.get("Status")
            if status is None:
                return message
            if status in ("408", "409"):
                # the server ended the request (too many waiting, leader change): ask again, unhurried
                _log.warning("JetStream ended a pull request: %s %s", status, headers.get("Description"))
                await asyncio.sleep(_REPULL_DELAY_S)
                await self._nc.publish(next_subject, _PULL_ONE, reply=inbox)
                continue
            raise RuntimeError(f"JetStream refused the pull request: {status} {headers.get('Description')}")

    async def _run(self, message: Any, handler: Handler) -> None:
        data = json.loads(message.data)
        job = Job(
            name=data["name"],
            id=data["id"],
            payload=data.get("payload", {}),
            redelivered=_delivered_before(message),
            trace=data.get("trace", {}),
        )
        # A plain future rather than ``to_thread``'s task: one still running when the loop closes
        # (handed back after the grace) is dropped without a "pending task destroyed" complaint.
        context = contextvars.copy_context()
        running = self._loop.run_in_executor(self._threads, context.run, handler, job)
        if not await self._beat_until_done(message, running):
            # stop's grace ran out: another worker gets the job now (its thread runs on until exit)
            _log.warning("job %s %s still runs after the stop grace; handed back", job.name, job.id)
            self.unfinished += 1
            await message.nak()
            return
        try:
            running.result()
        except Deferred as later:
            # the stream keeps it: another worker (or this one, later) takes it again
            await message.nak(delay=later.delay_s)
            return
        except Exception:  # the handler records cast failures itself; redeliver anything else
            _log.exception("job %s %s failed; it will be redelivered", job.name, job.id)
            await message.nak(delay=5)
            return
        await message.ack()

    async def _beat_until_done(self, message: Any, running: asyncio.Future[Any]) -> bool:
        """Tell the broker every third of ``ack_wait`` that the job is in progress, until the handler
        returns (True) or stop's grace runs out first (False)."""
        abandon: asyncio.Future[Any] = asyncio.ensure_future(self._abandon.wait())
        either: set[asyncio.Future[Any]] = {running, abandon}
        try:
            while True:
                done, _ = await asyncio.wait(
                    either, timeout=self.ack_wait_s / 3, return_when=asyncio.FIRST_COMPLETED
                )
                if running in done:
                    return True
                if abandon in done:
                    return False
                try:
                    await message.in_progress()
                except Exception:  # nats-py's connection errors: the broker redelivers after ack_wait
                    _log.warning("could not tell the broker job %s is in progress", message.reply)
        finally:
            abandon.cancel()

    async def _hand_back_pending(self, subscription: Any) -> None:
        """Give back, for immediate redelivery, jobs that reached this worker after it stopped taking any.

        The pull request may still be waiting at the server: draining unsubscribes, then waits until
        every message sent before the server saw that has been read here.
        """
        if self._nc.is_closed:
            return
        drained = asyncio.ensure_future(subscription.drain())
        while True:
            reading = asyncio.ensure_future(subscription.next_msg(timeout=None))
            await asyncio.wait({reading, drained}, return_when=asyncio.FIRST_COMPLETED)
            if not reading.done():
                # drained: nothing is left in the queue and nothing more can arrive
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reading
                break
            message = reading.result()
            headers = message.headers or {}
            if message.reply and not headers.get("Status"):
                await message.nak()
        await drained

    def stop(self) -> None:
        """Stop taking jobs, give running ones ``stop_grace_s`` to finish and hand back the rest
        (counted in ``unfinished``), then close the connection."""
        self._stopping.set()
        connected = self._nc is not None and not self._nc.is_closed

        async def wake_workers() -> None:
            for inbox in self._inboxes:
                await self._nc.publish(inbox, b"", headers={_STOP_HEADER: "1"})

        if connected and self._inboxes:
            self._call(wake_workers())
        _, running = wait(self._consumers, timeout=self.stop_grace_s)
        if running:
            self._loop.call_soon_threadsafe(self._abandon.set)
            wait(running, timeout=_CLOSE_S)
        for consumer in self._consumers:
            if not consumer.done():
                _log.error("a NATS consumer did not stop")
            elif not consumer.cancelled() and consumer.exception() is not None:
                # a consumer that crashed: say why; we are shutting down anyway
                _log.error("a NATS consumer ended with an error", exc_info=consumer.exception())
        self._consumers.clear()
        self._inboxes.clear()
        if self._threads is not None:
            self._threads.shutdown(wait=False)  # a handed-back job's thread runs on until exit
            self._threads = None
        if self._nc is not None:
            if connected:
                self._call(self._nc.close(), timeout=_CLOSE_S)
            self._nc = None
        self._shutdown_loop()


def _delivered_before(message: Any) -> bool:
    """True when the broker handed this job out before (its ack subject counts the deliveries)."""
    import nats.errors

    try:
        return int(message.metadata.num_delivered) > 1
    except (nats.errors.NotJSMessageError, ValueError, IndexError):  # no delivery count: a first one
        return False
