"""The webhook outbox: events written in the transaction of the change they tell of.

``emit`` inserts one delivery per receiver (each of the tenant's endpoints that takes the event, and
the URL the event itself names: a cast's ``webhook_url``, a publisher's notice hook) in the caller's
unit of work: a change that rolls back sends nothing,
and one that commits is delivered even if the process dies right after (a worker of any node picks it
up). After the commit it wakes this process's delivery worker and, on PostgreSQL, those of every other
node (a notification on ``WAKE_CHANNEL``, sent once per transaction and dropped on rollback), so the
first attempt does not wait for a poll, even when this node runs no worker. With no endpoint and no
URL it writes nothing and, once the tenant's endpoints are cached, reads nothing either.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from spell.errors import InvalidInput
from spell.kit.clock import Clock, SystemClock
from spell.kit.ids import new_id
from spell.kit.time import to_rfc3339
from spell.models import WebhookAttempt, WebhookDelivery
from spell.platform.webhook.delivery_repository import (
    DELIVERED,
    FAILED,
    PENDING,
    DeliveryRepository,
)
from spell.platform.webhook.endpoints import EndpointService
from spell.platform.webhook.errors import WebhookDeliveryNotFound
from spell.platform.webhook.events import EVENT_TYPES
from spell.storage.notify import send_wake
from spell.storage.session import UnitOfWork

__all__ = ["STATUSES", "WAKE_CHANNEL", "Payload", "WebhookService"]

#: The channel that wakes the delivery workers of every node (``storage.notify``).
WAKE_CHANNEL = "spell_webhooks"

STATUSES = (PENDING, DELIVERED, FAILED)

#: A payload, or what builds it: called only when some receiver takes the event.
Payload = Mapping[str, Any] | Callable[[], Mapping[str, Any]]


class WebhookService:
    """Emits events into the outbox; lists a tenant's deliveries and sends one again on request."""

    def __init__(
        self,
        endpoints: EndpointService,
        *,
        clock: Clock | None = None,
        repo: DeliveryRepository | None = None,
    ) -> None:
        self.endpoints = endpoints
        self.clock = clock or SystemClock()
        self.repo = repo or DeliveryRepository()
        # Set after a commit that emitted: the delivery worker of this process sends at once.
        self.wakeup = threading.Event()

    def emit(
        self,
        uow: UnitOfWork,
        tenant_id: str,
        event_type: str,
        payload: Payload,
        *,
        url: str | None = None,
    ) -> list[str]:
        """Queue ``event_type`` for the tenant's endpoints that take it and for ``url`` (signed with the
        tenant's secret), in ``uow``; the ids of the deliveries made (the ``webhook-id`` receivers see)."""
        routes = [route for route in self.endpoints.routes(uow, tenant_id) if route.wants(event_type)]
        if not routes and url is None:
            return []
        data = dict(payload() if callable(payload) else payload)
        now = self.clock.now()
        # The body's timestamp is the event's: every attempt sends the same bytes.
        body = {"type": event_type, "timestamp": to_rfc3339(now), "data": data}
        targets: list[tuple[str | None, str]] = [(route.endpoint_id, route.url) for route in routes]
        if url is not None:
            targets.append((None, url))
        ids = [new_id("msg") for _ in targets]
        rows = [
            {
                "id": delivery_id,
                "tenant_id": tenant_id,
                "endpoint_id": endpoint_id,
                "url": target_url,
                "event_type": event_type,
                "payload": body,
                "status": PENDING,
                "attempt_count": 0,
                "retry_index": 0,
                "next_attempt_at": now,
                "last_status_code": None,
                "last_error": None,
                "created_at": now,
                "delivered_at": None,
            }
            for delivery_id, (endpoint_id, target_url) in zip(ids, targets, strict=True)
        ]
        self.repo.add_many(uow, rows)
        self._wake(uow)
        return ids

    def deliveries(
        self,
        uow: UnitOfWork,
        tenant_id: str | None,
        *,
        endpoint_id: str | None = None,
        status: str | None = None,
        event_type: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[tuple[WebhookDelivery, list[WebhookAttempt]]], str | None]:
        """A page of the tenant's deliveries (newest first) with their attempts, and the next cursor.

        ``tenant_id`` None lists every tenant's: for operators on the server machine only."""
        if not 1 <= limit <= 100:
            raise InvalidInput("limit must be between 1 and 100", details={"limit": limit})
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"status must be one of {list(STATUSES)}", details={"status": status})
        if event_type is not None and event_type not in EVENT_TYPES:
            raise InvalidInput(
                "unknown webhook event type", details={"event": event_type, "known": sorted(EVENT_TYPES)}
            )
        rows = self.repo.page(
            uow,
            tenant_id,
            endpoint_id=endpoint_id,
            status=status,
            event_type=event_type,
            limit=limit + 1,
            before_id=cursor,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        attempts = self.repo.attempts_of(uow, [row.id for row in rows])
        return [(row, attempts[row.id]) for row in rows], (rows[-1].id if more else None)

    def get(self, uow: UnitOfWork, tenant_id: str | None, delivery_id: str) -> WebhookDelivery:
        """One of the tenant's deliveries (any tenant's with None); ``WEBHOOK_DELIVERY_NOT_FOUND`` for
        any other."""
        row = self.repo.get(uow, delivery_id)
        if row is None or (tenant_id is not None and row.tenant_id != tenant_id):
            raise WebhookDeliveryNotFound(
                f"no webhook delivery {delivery_id!r}", details={"delivery_id": delivery_id}
            )
        return row

    def attempts(self, uow: UnitOfWork, delivery_id: str) -> list[WebhookAttempt]:
        """The delivery's attempts, in order."""
        return self.repo.attempts_of(uow, [delivery_id])[delivery_id]

    def redeliver(self, uow: UnitOfWork, tenant_id: str | None, delivery_id: str) -> WebhookDelivery:
        """Send the delivery again now (the same ``webhook-id`` and body), with a fresh retry schedule.

        Its log keeps every earlier attempt; the next ones are numbered after them."""
        row = self.get(uow, tenant_id, delivery_id)
        row = self.repo.get(uow, delivery_id, for_update=True) or row
        row.status, row.retry_index, row.next_attempt_at = PENDING, 0, self.clock.now()
        uow.session.flush()
        self._wake(uow)
        return row

    def _wake(self, uow: UnitOfWork) -> None:
        """Once ``uow`` commits, wake the delivery workers: this process's, and other nodes'."""
        send_wake(uow.session, WAKE_CHANNEL)
        uow.after_commit(self.wakeup.set)
