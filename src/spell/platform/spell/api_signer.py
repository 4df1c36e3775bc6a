"""Signs the calls an ``api`` spell's runtime makes to its maker's endpoint.

The signature is the Standard Webhooks one, with the maker's tenant's own webhook secret: the maker
verifies the platform's calls exactly as it verifies its webhooks (``GET /v1/webhooks/secret``).
"""

from __future__ import annotations

from collections.abc import Mapping

from spell.errors import NotFound
from spell.kit.clock import Clock
from spell.kit.ids import new_id
from spell.platform.spell.repository import SpellRepository
from spell.platform.webhook.secret import WebhookSecretService
from spell.platform.webhook.service import signature_headers
from spell.runtimes.base import CastRequest
from spell.storage.session import Database

__all__ = ["MakerSigner"]


class MakerSigner:
    """``(request, body) -> headers`` for ``ApiRuntime``: ``webhook-id``, ``-timestamp``, ``-signature``."""

    def __init__(self, db: Database, secrets: WebhookSecretService, clock: Clock) -> None:
        self.db, self.secrets, self.clock = db, secrets, clock
        self.repo = SpellRepository()

    def __call__(self, request: CastRequest, body: bytes) -> Mapping[str, str]:
        """Headers signing ``body`` for the endpoint of ``request``'s spell (its first call makes the
        tenant's secret)."""
        with self.db.unit_of_work() as uow:
            spell = self.repo.spell(uow, request.manifest.id)
            if spell is None:
                raise NotFound(f"spell {request.manifest.id!r} is not published here")
            secrets = self.secrets.ensure_signing_secrets(uow, spell.tenant_id)
        return signature_headers(secrets, new_id("call"), int(self.clock.now().timestamp()), body)
