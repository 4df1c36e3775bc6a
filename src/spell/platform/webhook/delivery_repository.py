"""All SQL of webhook endpoints, the delivery outbox and its attempt log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from spell.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from spell.storage.session import UnitOfWork

__all__ = ["DeliveryRepository", "EndpointRepository"]

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


class EndpointRepository:
    """Tenants' endpoints."""

    def live_for_tenant(self, uow: UnitOfWork, tenant_id: str) -> list[WebhookEndpoint]:
        """The tenant's endpoints not removed, oldest first."""
        query = select(WebhookEndpoint).where(
            WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.removed_at.is_(None)
        )
        return list(uow.session.scalars(query.order_by(WebhookEndpoint.id)))

    def get(self, uow: UnitOfWork, endpoint_id: str) -> WebhookEndpoint | None:
        """Any endpoint by id, removed ones included."""
        return uow.session.get(WebhookEndpoint, endpoint_id)


class DeliveryRepository:
    """The outbox: rows inserted with the change they tell of, claimed by workers, and their attempts."""

    def add_many(self, uow: UnitOfWork, rows: Sequence[dict[str, Any]]) -> None:
        """Insert deliveries in one statement."""
        uow.session.execute(insert(WebhookDelivery), list(rows))

    def due_ids(self, uow: UnitOfWork, now: datetime, limit: int) -> list[str]:
        """Pending deliveries whose next attempt is due, the longest waiting first."""
        query = (
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
        )
        return list(uow.session.scalars(query))

    def claim(self, uow: UnitOfWork, delivery_id: str, now: datetime, lease_until: datetime) -> bool:
        """Take a due delivery until ``lease_until``; False when another worker took it first.

        Conditional on it still being due: of two workers (or nodes), one updates the row and the
        other's condition no longer holds. A worker that dies holding it leaves it due again at
        ``lease_until``.
        """
        statement = (
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.status == PENDING,
                WebhookDelivery.next_attempt_at <= now,
            )
            .values(next_attempt_at=lease_until)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(uow.session.execute(statement), "rowcount", 0) == 1)

    def get(self, uow: UnitOfWork, delivery_id: str, *, for_update: bool = False) -> WebhookDelivery | None:
        """One delivery as the database holds it now."""
        return uow.session.get(
            WebhookDelivery, delivery_id, with_for_update=for_update, populate_existing=for_update
        )

    def add_attempt(self, uow: UnitOfWork, attempt: WebhookAttempt) -> None:
        """Log one attempt."""
        uow.session.add(attempt)

    def page(
        self,
        uow: UnitOfWork,
        tenant_id: str | None,
        *,
        endpoint_id: str | None,
        status: str | None,
        event_type: str | None,
        limit: int,
        before_id: str | None,
    ) -> list[WebhookDelivery]:
        """The tenant's deliveries (every tenant's with None), newest first, filtered."""
        query = select(WebhookDelivery)
        if tenant_id is not None:
            query = query.where(WebhookDelivery.tenant_id == tenant_id)
        if endpoint_id is not None:
            query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
        if status is not None:
            query = query.where(WebhookDelivery.status == status)
        if event_type is not None:
            query = query.where(WebhookDelivery.event_type == event_type)
        if before_id is not None:
            query = query.where(WebhookDelivery.id < before_id)
        return list(uow.session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)))

    def attempts_of(self, uow: UnitOfWork, delivery_ids: Sequence[str]) -> dict[str, list[WebhookAttempt]]:
        """Each delivery's attempts, in order."""
        found: dict[str, list[WebhookAttempt]] = {delivery_id: [] for delivery_id in delivery_ids}
        if not delivery_ids:
            return found
        query = select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(list(delivery_ids)))
        for attempt in uow.session.scalars(query.order_by(WebhookAttempt.delivery_id, WebhookAttempt.number)):
            found[attempt.delivery_id].append(attempt)
        return found
