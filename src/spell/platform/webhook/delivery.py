"""The delivery worker: sends what the outbox holds, on a retry schedule, logging every attempt.

It runs beside the queue workers (``spell serve``'s worker threads, ``spell worker``). Each round it
claims due deliveries with a conditional update (two workers, even on two nodes, never send the same
attempt), commits the claim, posts outside any transaction with ``WebhookSender``'s rules (egress
checks, pinned address, no redirects), then records the attempt and schedules the next one:
``retry_schedule[i]`` seconds after the ``i``-th failure, ``failed`` past the last. A worker that dies
mid-attempt leaves its claim to lapse (``lease``) and the delivery is tried again.

Between rounds it waits for ``WebhookService.wakeup`` (set by an emit in this process, or by another
node's through the notification listener) or ``poll_seconds``, whichever comes first.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from spell.config.webhooks import WebhookSettings
from spell.kit.canonical_json import canonical_bytes
from spell.kit.clock import Clock, SystemClock
from spell.models import WebhookAttempt
from spell.platform.webhook.delivery_repository import DELIVERED, FAILED, PENDING, DeliveryRepository
from spell.platform.webhook.outbox import WebhookService
from spell.platform.webhook.secret import WebhookSecretService
from spell.platform.webhook.service import Answer, WebhookSender
from spell.storage.session import Database

__all__ = ["DeliveryWorker"]

_log = logging.getLogger(__name__)
_PARALLEL = 4  # attempts in flight per worker: one slow receiver does not hold up the others


@dataclass(frozen=True)
class _Claimed:
    id: str
    url: str
    event_type: str
    body: bytes
    secrets: list[str] | None


class DeliveryWorker:
    """Delivers due webhooks; ``start`` runs it on a thread, ``run_due`` is one round."""

    def __init__(
        self,
        db: Database,
        service: WebhookService,
        tenant_secrets: WebhookSecretService,
        sender: WebhookSender | None,
        settings: WebhookSettings,
        *,
        clock: Clock | None = None,
        repo: DeliveryRepository | None = None,
    ) -> None:
        self.db, self.service, self.tenant_secrets = db, service, tenant_secrets
        self.sender, self.settings = sender, settings
        self.clock = clock or SystemClock()
        self.repo = repo or DeliveryRepository()
        self.lease = timedelta(seconds=settings.timeout_seconds + 60)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._recorded = threading.Condition()
        self.attempts_recorded = 0

    def start(self) -> None:
        """Deliver on a background thread until ``stop``."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="spell-webhook-delivery", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the round in progress."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        self.service.wakeup.set()
        thread.join(self.settings.timeout_seconds + 5)

    def wait_for_attempts(self, count: int, timeout_s: float) -> bool:
        """Wait until this worker recorded ``count`` attempts in all; False when ``timeout_s`` ran out."""
        with self._recorded:
            return self._recorded.wait_for(lambda: self.attempts_recorded >= count, timeout_s)

    def run_due(self) -> int:
        """Claim and attempt every delivery due now (a batch at a time); how many were attempted.

        Without a sender (``sender`` None) nothing is claimed: deliveries wait in the outbox."""
        done = 0
        while True:
            sender = self.sender
            claimed = [] if sender is None else self._claim()
            if sender is None or not claimed:
                return done
            with ThreadPoolExecutor(min(_PARALLEL, len(claimed)), thread_name_prefix="spell-webhook") as pool:
                list(pool.map(self._attempt, [sender] * len(claimed), claimed))
            done += len(claimed)
            if len(claimed) < self.settings.batch:
                return done

    def _loop(self) -> None:
        wakeup = self.service.wakeup
        while not self._stopping.is_set():
            wakeup.wait(self.settings.poll_seconds)
            wakeup.clear()  # before the round: a wake-up during it makes another round
            if self._stopping.is_set():
                return
            try:
                self.run_due()
            except Exception:  # a database hiccup must not end deliveries for good
                _log.exception("delivering webhooks failed; trying again later")

    def _claim(self) -> list[_Claimed]:
        claimed: list[_Claimed] = []
        with self.db.unit_of_work() as uow:
            now = self.clock.now()
            for delivery_id in self.repo.due_ids(uow, now, self.settings.batch):
                if not self.repo.claim(uow, delivery_id, now, now + self.lease):
                    continue  # another worker took it
                row = self.repo.get(uow, delivery_id)
                assert row is not None  # noqa: S101 - deliveries are never deleted
                if row.endpoint_id is not None:
                    secrets = self.service.endpoints.signing_secrets(uow, row.endpoint_id)
                else:
                    secrets = self.tenant_secrets.ensure_signing_secrets(uow, row.tenant_id)
                body = canonical_bytes(row.payload)  # what is signed is serialised canonically
                claimed.append(_Claimed(row.id, row.url, row.event_type, body, secrets))
        return claimed

    def _attempt(self, sender: WebhookSender, job: _Claimed) -> None:
        try:
            if job.secrets is None:
                answer = Answer(None, "endpoint removed", 0)
            else:
                answer = sender.attempt(job.url, job.id, job.event_type, job.body, secrets=job.secrets)
            self._record(job, answer, final=job.secrets is None)
        except Exception:  # one delivery's fault must not stop the others; its claim lapses and it retries
            _log.exception("webhook delivery %s: recording its attempt failed", job.id)

    def _record(self, job: _Claimed, answer: Answer, *, final: bool) -> None:
        with self.db.unit_of_work() as uow:
            row = self.repo.get(uow, job.id, for_update=True)
            assert row is not None  # noqa: S101 - deliveries are never deleted
            now = self.clock.now()
            number = row.attempt_count + 1
            self.repo.add_attempt(
                uow,
                WebhookAttempt(
                    delivery_id=row.id,
                    number=number,
                    at=now,
                    status_code=answer.status,
                    error=answer.error,
                    duration_ms=answer.duration_ms,
                ),
            )
            values: dict[str, Any] = {
                "attempt_count": number,
                "last_status_code": answer.status,
                "last_error": answer.error,
            }
            schedule = self.settings.retry_schedule
            if answer.is_success:
                values.update(status=DELIVERED, delivered_at=now, next_attempt_at=None)
            elif row.status == DELIVERED:
                pass  # a redelivery sent beside this attempt got through: it stays delivered
            elif final or row.retry_index >= len(schedule):
                values.update(status=FAILED, next_attempt_at=None)
            else:
                values.update(
                    status=PENDING,
                    next_attempt_at=now + timedelta(seconds=schedule[row.retry_index]),
                    retry_index=row.retry_index + 1,
                )
            for key, value in values.items():
                setattr(row, key, value)
        if not answer.is_success:
            _log.warning("webhook delivery %s attempt %d: %s", job.id, number, answer.error or answer.status)
        with self._recorded:
            self.attempts_recorded += 1
            self._recorded.notify_all()
