"""A cast's end, posted to its ``webhook_url`` and signed with its tenant's own secret."""

from __future__ import annotations

import logging

from spell.models import Cast
from spell.platform.cast.schemas import CastOut
from spell.platform.webhook.secret import WebhookSecretService
from spell.platform.webhook.service import WebhookSender
from spell.storage.session import Database

__all__ = ["CastWebhooks"]

_log = logging.getLogger(__name__)


class CastWebhooks:
    """Sends the ``cast.<status>`` webhook of ended casts; ``sender`` None sends nothing."""

    def __init__(self, db: Database, secrets: WebhookSecretService, sender: WebhookSender | None) -> None:
        self.db, self.secrets, self.sender = db, secrets, sender

    def send(self, url: str, cast_id: str) -> None:
        """Post the cast as it is now to ``url`` (delivered in the background).

        Called after the end committed: a notice that cannot be sent is logged, never raised, so it
        cannot undo or misreport the end.
        """
        sender = self.sender
        if sender is None:
            return
        try:
            self._send(sender, url, cast_id)
        except Exception:  # after the commit: the cast has ended whatever happens here
            _log.exception("cast %s: its webhook could not be sent", cast_id)

    def _send(self, sender: WebhookSender, url: str, cast_id: str) -> None:
        with self.db.unit_of_work(write=False) as uow:
            cast = uow.session.get(Cast, cast_id)
            if cast is None:
                return
            payload, tenant_id = CastOut.from_row(cast).model_dump(mode="json"), cast.tenant_id
            secrets = self.secrets.signing_secrets(uow, tenant_id)
        if secrets is None:  # the tenant's first delivery: its secret is made now
            with self.db.unit_of_work() as uow:
                secrets = self.secrets.ensure_signing_secrets(uow, tenant_id)
        sender.send_async(url, f"cast.{payload['status']}", payload, secrets=secrets)
