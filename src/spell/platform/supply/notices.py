"""What makers are told about their versions: a notice row they can list, and a webhook to their
publisher's ``webhook_url`` (and to every endpoint of their tenant that takes ``supply.*`` events),
signed with their tenant's secret, exactly as cast webhooks are.

The webhook goes through the durable outbox in the notice's own transaction: it leaves only if the
notice commits, a failed attempt is retried on the outbox's schedule, and a process that dies after
the commit loses nothing (any node's delivery worker sends it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from spell.kit.clock import Clock, SystemClock
from spell.kit.ids import new_id
from spell.models import Publisher, Spell, SpellVersion
from spell.models.supply import SupplyNotice
from spell.platform.audit.service import AuditService
from spell.platform.auth.schemas import Principal
from spell.platform.spell.publishers import owned_publisher
from spell.platform.supply.repository import SupplyRepository
from spell.platform.supply.schemas import NoticeOut
from spell.platform.webhook.outbox import WebhookService
from spell.platform.webhook.service import check_webhook_url, redact_url
from spell.runtimes.egress import EgressPolicy
from spell.storage.session import Database, UnitOfWork

__all__ = ["SupplyNotices"]


class SupplyNotices:
    """Records notices and queues their webhooks."""

    def __init__(
        self,
        db: Database,
        outbox: WebhookService,
        *,
        egress: EgressPolicy,
        audit: AuditService,
        clock: Clock | None = None,
        repo: SupplyRepository | None = None,
    ) -> None:
        self.db, self.outbox, self.egress, self.audit = db, outbox, egress, audit
        self.clock = clock or SystemClock()
        self.repo = repo or SupplyRepository()

    def notify(
        self,
        uow: UnitOfWork,
        spell: Spell,
        version: SpellVersion,
        kind: str,
        details: dict[str, Any],
        now: datetime,
    ) -> SupplyNotice:
        """Record a notice about ``version`` and queue its webhook in ``uow``."""
        return self.tell(uow, spell.publisher, spell.id, version.version, kind, details, now)

    def tell(
        self,
        uow: UnitOfWork,
        publisher_name: str,
        spell_id: str,
        version: str,
        kind: str,
        details: dict[str, Any],
        now: datetime,
    ) -> SupplyNotice:
        """``notify`` by names: ``spell_id`` and ``version`` are empty for a notice about no one spell."""
        notice = SupplyNotice(
            id=new_id("ntc"),
            publisher=publisher_name,
            spell_id=spell_id,
            version=version,
            kind=kind,
            details=details,
            created_at=now,
        )
        self.repo.add(uow, notice)
        publisher = self.repo.publisher(uow, publisher_name)
        if publisher is not None:
            self.outbox.emit(
                uow,
                publisher.tenant_id,
                f"supply.{kind}",
                lambda: NoticeOut.from_row(notice).model_dump(mode="json"),
                url=publisher.webhook_url or None,
            )
        return notice

    def of_publisher(
        self, uow: UnitOfWork, principal: Principal, publisher: str, *, limit: int = 50
    ) -> list[SupplyNotice]:
        """The publisher's notices, newest first: its own tenant only (``spell:publish``)."""
        principal.require("spell:publish")
        owned_publisher(uow, principal, publisher, claim=False)
        return self.repo.notices(uow, publisher, limit=max(1, min(limit, 500)))

    def set_webhook(self, principal: Principal, publisher: str, url: str | None) -> Publisher:
        """Where the publisher's notices are posted (None: nowhere); the URL must pass the webhook egress
        rules. Checked before the transaction opens, since the check resolves the host."""
        principal.require("spell:publish")
        if url is not None:
            check_webhook_url(url, self.egress)
        with self.db.unit_of_work() as uow:
            row = owned_publisher(uow, principal, publisher, claim=False)
            row.webhook_url = url
            self.audit.append(
                uow,
                "publisher.webhook_changed",
                actor_id=principal.user_id,
                tenant_id=principal.tenant_id,
                subject=publisher,
                data={"webhook_url": None if url is None else redact_url(url)},
            )
            uow.session.flush()
            return row
