"""Wire shape of a tenant's webhook signing secret."""

from __future__ import annotations

from spell.kit.wire import Rfc3339, Rfc3339OrNone, RowModel

__all__ = ["WebhookSecretOut"]


class WebhookSecretOut(RowModel):
    """The secret that signs your tenant's webhooks (Standard Webhooks ``whsec_`` form)."""

    secret: str
    created_at: Rfc3339
    rotated_at: Rfc3339OrNone
    previous_valid_until: Rfc3339OrNone
