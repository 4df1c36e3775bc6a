"""A cast's lifecycle events, put in the webhook outbox in the transaction of each move.

``cast.queued`` (and ``cast.running`` for a cast run by its request) when it is created,
``cast.running`` when a worker claims it, ``cast.progress`` for each step milestone, and
``cast.<status>`` when it ends. The tenant's endpoints get whichever they subscribed to; the cast's own
``webhook_url`` gets its end. The payload is the cast as it is after the move (``CastOut``); it is
built only when someone receives the event, so a tenant with no endpoints pays nothing for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spell.models import Cast, CastStatus
from spell.platform.cast.repository import detached_cast
from spell.platform.cast.schemas import CastOut
from spell.platform.webhook.delivery import DeliveryWorker
from spell.platform.webhook.outbox import WebhookService
from spell.storage.session import UnitOfWork

__all__ = ["CastWebhooks"]

_COLUMNS = tuple(column.key for column in Cast.__table__.columns)


def _shown(cast: Cast, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    if values:
        cast = detached_cast({**{key: getattr(cast, key) for key in _COLUMNS}, **values})
    return CastOut.from_row(cast).model_dump(mode="json")


class CastWebhooks:
    """Emits a cast's events into the outbox; ``delivery`` sends them (set by the platform)."""

    def __init__(self, outbox: WebhookService, delivery: DeliveryWorker | None = None) -> None:
        self.outbox, self.delivery = outbox, delivery

    def created(self, uow: UnitOfWork, cast: Cast, *, running: bool) -> None:
        """A cast was created: queued, or already running when its request runs it."""
        self.outbox.emit(
            uow, cast.tenant_id, "cast.queued", lambda: _shown(cast, {"status": CastStatus.QUEUED})
        )
        if running:
            self.outbox.emit(uow, cast.tenant_id, "cast.running", lambda: _shown(cast))

    def running(self, uow: UnitOfWork, cast: Cast) -> None:
        """A worker claimed the cast."""
        self.outbox.emit(uow, cast.tenant_id, "cast.running", lambda: _shown(cast))

    def progress(self, uow: UnitOfWork, cast_id: str, tenant_id: str, data: Mapping[str, Any]) -> None:
        """A step of the running cast started, ended, was skipped or rolled back."""
        self.outbox.emit(uow, tenant_id, "cast.progress", lambda: {"cast_id": cast_id, **data})

    def ended(self, uow: UnitOfWork, cast: Cast, values: Mapping[str, Any]) -> None:
        """The cast ended with ``values`` written; its ``webhook_url`` hears of it too."""
        self.outbox.emit(
            uow,
            cast.tenant_id,
            f"cast.{values['status']}",
            lambda: _shown(cast, values),
            url=cast.webhook_url or None,
        )
