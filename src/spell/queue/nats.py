"""NATS JetStream broker: a work-queue stream, ``Nats-Msg-Id`` = job id (server-side de-duplication),
a durable pull consumer with explicit ack, and redelivery of jobs whose worker died.

nats-py is asynchronous and the platform's queue contract is not, so the client lives on its own
event-loop thread; ``publish`` hands coroutines to it and waits for the broker's ack.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from concurrent.futures import Future
from typing import Any

from spell.errors import Overloaded
from spell.queue.base import Deferred, Handler, Job

__all__ = ["NatsQueue"]

_log = logging.getLogger(__name__)


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
        body = json.dumps({"name": job.name, "id": job.id, "payload": job.payload}).encode()
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
        )

        async def subscribe() -> Any:
            return await self._js.pull_subscribe(
                f"{self.subject}.>", durable=self.durable, stream=self.stream, config=config
            )

        subscription = self._call(subscribe())
        for _ in range(workers):
            self._consumers.append(
                asyncio.run_coroutine_threadsafe(self._consume(subscription, handler), self._loop)
            )

    async def _consume(self, subscription: Any, handler: Handler) -> None:
        import nats.errors

        while not self._stopping.is_set():
            try:
                messages = await subscription.fetch(1, timeout=0.5)
            except (nats.errors.TimeoutError, TimeoutError):
                continue
            except nats.errors.Error:
                if self._stopping.is_set():
                    return
                raise
            for message in messages:
                data = json.loads(message.data)
                job = Job(name=data["name"], id=data["id"], payload=data.get("payload", {}))
                try:
                    await asyncio.to_thread(handler, job)
                except Deferred as later:
                    # the stream keeps it: another worker (or this one, later) takes it again
                    await message.nak(delay=later.delay_s)
                    continue
                except Exception:  # the handler records cast failures itself; redeliver anything else
                    _log.exception("job %s %s failed; it will be redelivered", job.name, job.id)
                    await message.nak(delay=5)
                    continue
                await message.ack()

    def stop(self) -> None:
        """Stop the pull loops after their current job, then close the connection."""
        self._stopping.set()
        for consumer in self._consumers:
            try:
                consumer.result(timeout=30)
            except Exception:  # a consumer that crashed has already logged; we are shutting down
                _log.exception("a NATS consumer ended with an error")
        self._consumers.clear()
        if self._nc is not None:
            self._call(self._nc.close())
            self._nc = None
        self._shutdown_loop()
