"""NATS JetStream broker: a work-queue stream, ``Nats-Msg-Id`` = job id (server-side de-duplication),
a durable pull consumer with explicit ack, and redelivery of jobs whose worker died.

nats-py is asynchronous and the platform's queue contract is not, so the client lives on its own
event-loop thread; ``publish`` hands coroutines to it and waits for the broker's ack.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from concurrent.futures import Future
from typing import Any

from spell.errors import Overloaded
from spell.queue.base import Deferred, Handler, Job

__all__ = ["NatsQueue"]

_log = logging.getLogger(__name__)

_JS_API = "$JS.API"
_PULL_ONE = json.dumps({"batch": 1}).encode()
_STOP_HEADER = "Spell-Worker-Stop"
_REPULL_DELAY_S = 0.5


class NatsQueue:
    """Jobs on the JetStream stream ``stream`` (subjects ``<subject>.<job name>``)."""

    def __init__(
        self,
        url: str,
        *,
        stream: str = "SPELL_JOBS",
        subject: str = "spell.jobs",
        durable: str = "spell-workers",
        ack_wait_s: float = 600.0,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self.url, self.stream, self.subject, self.durable = url, stream, subject, durable
        self.ack_wait_s = ack_wait_s
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="spell-nats", daemon=True)
        self._thread.start()
        self._stopping = threading.Event()
        self._consumers: list[Future[None]] = []
        self._inboxes: list[str] = []
        self._nc: Any = None
        self._js: Any = None
        try:
            self._call(self._connect(connect_timeout_s), timeout=connect_timeout_s + 5)
        except BaseException:
            self._shutdown_loop()
            raise

    def _shutdown_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def _call(self, coro: Any, *, timeout: float = 10.0) -> Any:
        try:
            return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)
        except (TimeoutError, OSError) as exc:
            raise Overloaded(f"the NATS broker at {self.url} did not answer: {exc}", retry_after=5) from exc

    async def _connect(self, timeout: float) -> None:
        import nats
        from nats.js.api import RetentionPolicy, StreamConfig

        try:
            self._nc = await nats.connect(
                self.url, connect_timeout=timeout, max_reconnect_attempts=1, allow_reconnect=False
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

    def publish(self, job: Job) -> None:
        """Publish and wait for the stream's ack; a repeated job id inside the window is dropped."""
        body = json.dumps(
            {"name": job.name, "id": job.id, "payload": job.payload, "trace": job.trace}
        ).encode()
        subject = f"{self.subject}.{job.name.replace('.', '_')}"
        self._call(self._js.publish(subject, body, headers={"Nats-Msg-Id": job.id}))

    def start(self, handler: Handler, *, workers: int) -> None:
        """Start ``workers`` pull loops; each runs the handler in a thread and acks after it returns."""
        from nats.js.api import AckPolicy, ConsumerConfig

        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait_s,
            max_ack_pending=max(workers * 4, 16),
            filter_subject=f"{self.subject}.>",
        )

        async def ensure_consumer() -> None:
            import nats.js.errors

            try:
                await self._js.consumer_info(self.stream, self.durable)
            except nats.js.errors.NotFoundError:
                await self._js.add_consumer(self.stream, config)

        self._call(ensure_consumer())
        for _ in range(workers):
            inbox = self._nc.new_inbox()
            self._inboxes.append(inbox)
            self._consumers.append(
                asyncio.run_coroutine_threadsafe(self._consume(inbox, handler), self._loop)
            )

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
            name=data["name"], id=data["id"], payload=data.get("payload", {}), trace=data.get("trace", {})
        )
        try:
            await asyncio.to_thread(handler, job)
        except Deferred as later:
            # the stream keeps it: another worker (or this one, later) takes it again
            await message.nak(delay=later.delay_s)
            return
        except Exception:  # the handler records cast failures itself; redeliver anything else
            _log.exception("job %s %s failed; it will be redelivered", job.name, job.id)
            await message.nak(delay=5)
            return
        await message.ack()

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
        """Stop the pull loops after their current job, then close the connection."""
        self._stopping.set()

        async def wake_workers() -> None:
            for inbox in self._inboxes:
                await self._nc.publish(inbox, b"", headers={_STOP_HEADER: "1"})

        if self._nc is not None and self._inboxes:
            self._call(wake_workers())
        for consumer in self._consumers:
            try:
                consumer.result(timeout=30)
            except Exception:  # a consumer that crashed has already logged; we are shutting down
                _log.exception("a NATS consumer ended with an error")
        self._consumers.clear()
        self._inboxes.clear()
        if self._nc is not None:
            self._call(self._nc.close())
            self._nc = None
        self._shutdown_loop()
