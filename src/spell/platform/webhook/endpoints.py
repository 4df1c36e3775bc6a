"""A tenant's webhook endpoints: registered with an event filter, each signing with its own secret.

The secret is shown once, when the endpoint is made or its secret rotated; at rest it is sealed
(``sealing.py``) and bound to the endpoint's id. After a rotation the previous secret keeps signing
for a grace period, as the tenant-wide secret does.

The cast path asks ``routes`` for the tenant's endpoints on every event; the answer is cached and
dropped on any endpoint change (``storage.changes``), so a tenant with no endpoints costs no statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from spell.errors import InvalidInput
from spell.kit.clock import Clock, SystemClock
from spell.kit.ids import new_id
from spell.models import WebhookEndpoint
from spell.platform.audit.service import AuditService
from spell.platform.webhook.delivery_repository import EndpointRepository
from spell.platform.webhook.errors import WebhookEndpointNotFound
from spell.platform.webhook.events import check_event_types
from spell.platform.webhook.sealing import SecretBox, new_signing_secret
from spell.platform.webhook.service import check_webhook_url
from spell.runtimes.egress import EgressPolicy
from spell.storage.changes import CachedReads
from spell.storage.session import UnitOfWork

__all__ = ["EndpointService", "Route"]

ROTATION_GRACE = timedelta(hours=24)
MAX_ENDPOINTS = 20  # per tenant: each event fans out to every one of them
_LABEL = b"spell/webhook-endpoint-sealing/v1"


@dataclass(frozen=True)
class Route:
    """Where a tenant's event goes: an endpoint, its URL and the events it takes (empty: all)."""

    endpoint_id: str
    url: str
    events: frozenset[str]

    def wants(self, event_type: str) -> bool:
        """Whether this endpoint receives ``event_type``."""
        return not self.events or event_type in self.events


class EndpointService:
    """Registers, lists, removes and rotates endpoints; opens their secrets for signing."""

    def __init__(
        self,
        master_secret: str,
        *,
        egress: EgressPolicy,
        audit: AuditService | None = None,
        cache_s: float = 1.0,
        clock: Clock | None = None,
        repo: EndpointRepository | None = None,
    ) -> None:
        self._box = SecretBox(master_secret, _LABEL)
        self.egress = egress
        self.audit = audit or AuditService()
        self.clock = clock or SystemClock()
        self.repo = repo or EndpointRepository()
        self._routes: CachedReads[str, tuple[Route, ...]] = CachedReads(
            WebhookEndpoint, ttl_s=cache_s, clock=self.clock
        )

    def add(
        self,
        uow: UnitOfWork,
        tenant_id: str,
        url: str,
        *,
        events: Sequence[str] = (),
        description: str = "",
        actor_id: str | None = None,
    ) -> tuple[WebhookEndpoint, str]:
        """Register ``url`` for the tenant; the endpoint and its secret (shown this once).

        Resolves the URL's host (blocking: never call it on an event loop)."""
        wanted = check_event_types(events)
        if len(description) > 200:
            raise InvalidInput("description is at most 200 characters", details={"length": len(description)})
        check_webhook_url(url, self.egress)  # last: it resolves the host
        if len(self.repo.live_for_tenant(uow, tenant_id)) >= MAX_ENDPOINTS:
            raise InvalidInput(
                f"a tenant has at most {MAX_ENDPOINTS} webhook endpoints",
                hint="remove one first (DELETE /v1/webhooks/endpoints/{id})",
            )
        endpoint_id, secret = new_id("whep"), new_signing_secret()
        row = WebhookEndpoint(
            id=endpoint_id,
            tenant_id=tenant_id,
            url=url,
            description=description,
            events=list(wanted),
            sealed=self._box.seal(endpoint_id, secret),
            previous_sealed=None,
            created_at=self.clock.now(),
            rotated_at=None,
            removed_at=None,
        )
        uow.session.add(row)
        uow.session.flush()
        self._audit(uow, "webhook_endpoint.added", row, actor_id)
        return row, secret

    def list_for(self, uow: UnitOfWork, tenant_id: str) -> list[WebhookEndpoint]:
        """The tenant's endpoints, oldest first."""
        return self.repo.live_for_tenant(uow, tenant_id)

    def get(self, uow: UnitOfWork, tenant_id: str, endpoint_id: str) -> WebhookEndpoint:
        """One of the tenant's live endpoints; ``WEBHOOK_ENDPOINT_NOT_FOUND`` for any other."""
        row = self.repo.get(uow, endpoint_id)
        if row is None or row.tenant_id != tenant_id or row.removed_at is not None:
            raise WebhookEndpointNotFound(
                f"no webhook endpoint {endpoint_id!r}", details={"endpoint_id": endpoint_id}
            )
        return row

    def remove(
        self, uow: UnitOfWork, tenant_id: str, endpoint_id: str, *, actor_id: str | None = None
    ) -> None:
        """Stop sending to the endpoint; its deliveries still pending fail, its log stays readable."""
        row = self.get(uow, tenant_id, endpoint_id)
        row.removed_at = self.clock.now()
        row.sealed, row.previous_sealed = b"", None  # nothing is signed for it any more
        uow.session.flush()
        self._audit(uow, "webhook_endpoint.removed", row, actor_id)

    def rotate(
        self, uow: UnitOfWork, tenant_id: str, endpoint_id: str, *, actor_id: str | None = None
    ) -> tuple[WebhookEndpoint, str]:
        """A fresh secret for the endpoint (shown this once); the old one co-signs for a grace period."""
        row = self.get(uow, tenant_id, endpoint_id)
        secret = new_signing_secret()
        row.previous_sealed = row.sealed
        row.sealed = self._box.seal(endpoint_id, secret)
        row.rotated_at = self.clock.now()
        uow.session.flush()
        self._audit(uow, "webhook_endpoint.rotated", row, actor_id)
        return row, secret

    def signing_secrets(self, uow: UnitOfWork, endpoint_id: str) -> list[str] | None:
        """The secrets a delivery to the endpoint is signed with (newest first); None once removed."""
        row = self.repo.get(uow, endpoint_id)
        if row is None or row.removed_at is not None:
            return None
        current = self._box.open(endpoint_id, row.sealed)
        if current is None:
            return None
        secrets = [current]
        grace_over = row.rotated_at is None or self.clock.now() >= row.rotated_at + ROTATION_GRACE
        if row.previous_sealed is not None and not grace_over:
            previous = self._box.open(endpoint_id, row.previous_sealed)
            if previous is not None:
                secrets.append(previous)
        return secrets

    def routes(self, uow: UnitOfWork, tenant_id: str) -> tuple[Route, ...]:
        """Where the tenant's events go (cached until an endpoint changes anywhere)."""
        cached = self._routes.get(tenant_id)
        if cached is not None:
            return cached
        seen = self._routes.snapshot()
        routes = tuple(
            Route(row.id, row.url, frozenset(row.events)) for row in self.repo.live_for_tenant(uow, tenant_id)
        )
        self._routes.put(tenant_id, routes, seen)
        return routes

    def _audit(self, uow: UnitOfWork, action: str, row: WebhookEndpoint, actor_id: str | None) -> None:
        self.audit.append(
            uow,
            action,
            actor_id=actor_id,
            tenant_id=row.tenant_id,
            subject=row.id,
            data={"events": row.events},
        )
