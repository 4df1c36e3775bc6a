"""Wire shape of a tenant's webhook signing secret."""

from __future__ import annotations

from pydantic import BaseModel

from spell.kit.time import to_rfc3339, to_rfc3339_or_none
from spell.platform.webhook.secret import TenantWebhookSecret

__all__ = ["WebhookSecretOut"]


class WebhookSecretOut(BaseModel):
    """The secret that signs your tenant's webhooks (Standard Webhooks ``whsec_`` form)."""

    secret: str
    created_at: str
    rotated_at: str | None
    previous_valid_until: str | None

    @classmethod
    def from_secret(cls, found: TenantWebhookSecret) -> WebhookSecretOut:
        """The secret as the tenant sees it."""
        return cls(
            secret=found.secret,
            created_at=to_rfc3339(found.created_at),
            rotated_at=to_rfc3339_or_none(found.rotated_at),
            previous_valid_until=to_rfc3339_or_none(found.previous_valid_until),
        )
