"""Per-tenant webhook signing secrets, kept apart from the server's master secret.

A tenant's secret is 32 random bytes, shown as ``whsec_<base64>`` (the Standard Webhooks form stock
verifiers take). It is never derived from the master secret, so neither API-key hashes nor artifact URL
signatures can reveal it, and one leaked webhook secret says nothing about the master secret or other
tenants. At rest it is sealed with AES-256-GCM under a key derived from the master secret by HKDF with a
label of its own, bound to its tenant id: a database dump alone does not give it, and a sealed secret
copied onto another tenant's row does not open.

Rotation keeps the previous secret signing alongside the new one for a grace period (Standard Webhooks
allows several signatures in one header), so receivers can switch without dropping deliveries.
"""

from __future__ import annotations

import base64
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.exc import IntegrityError

from spell.kit.clock import Clock, SystemClock
from spell.models import WebhookSecret
from spell.platform.audit.service import AuditService
from spell.platform.auth.schemas import Principal
from spell.platform.webhook.repository import WebhookSecretRepository
from spell.storage.session import UnitOfWork

__all__ = ["SECRET_PREFIX", "TenantWebhookSecret", "WebhookSecretService"]

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
ROTATION_GRACE = timedelta(hours=24)
_HKDF_INFO = b"spell/webhook-secret-sealing/v1"
_NONCE_BYTES = 12
_SECRET_BYTES = 32

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TenantWebhookSecret:
    """A tenant's signing secret as shown to the tenant."""

    secret: str
    created_at: datetime
    rotated_at: datetime | None
    previous_valid_until: datetime | None


class WebhookSecretService:
    """Creates, opens and rotates tenants' webhook secrets; the rotation grace runs on ``clock``."""

    def __init__(
        self,
        master_secret: str,
        *,
        rotation_grace: timedelta = ROTATION_GRACE,
        audit: AuditService | None = None,
        clock: Clock | None = None,
        repo: WebhookSecretRepository | None = None,
    ) -> None:
        self.audit = audit or AuditService()
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
            master_secret.encode("utf-8")
        )
        self._aead = AESGCM(key)
        self.rotation_grace = rotation_grace
        self.clock = clock or SystemClock()
        self.repo = repo or WebhookSecretRepository()

    def show(self, uow: UnitOfWork, principal: Principal) -> TenantWebhookSecret:
        """The caller's tenant's secret, created on first use (needs a writing unit of work)."""
        principal.require("keys:manage")
        row, secret = self._ensure(uow, principal.tenant_id)
        return self._describe(row, secret)

    def rotate(self, uow: UnitOfWork, principal: Principal) -> TenantWebhookSecret:
        """A fresh secret for the caller's tenant; the old one keeps signing for the grace period."""
        principal.require("keys:manage")
        row, _ = self._ensure(uow, principal.tenant_id)
        secret = _new_secret()
        row.previous_sealed = row.sealed
        row.sealed = self._seal(principal.tenant_id, secret)
        row.rotated_at = self.clock.now()
        uow.session.flush()
        self.audit.append(
            uow,
            "webhook_secret.rotated",
            actor_id=principal.user_id,
            tenant_id=principal.tenant_id,
            subject=principal.tenant_id,
            data={"key_id": principal.key_id},
        )
        return self._describe(row, secret)

    def signing_secrets(self, uow: UnitOfWork, tenant_id: str) -> list[str] | None:
        """The secrets a delivery is signed with (newest first); None when the tenant has none yet."""
        row = self.repo.get(uow, tenant_id)
        current = None if row is None else self._unseal(tenant_id, row.sealed)
        if row is None or current is None:
            return None
        return self._with_previous(row, current)

    def ensure_signing_secrets(self, uow: UnitOfWork, tenant_id: str) -> list[str]:
        """Like ``signing_secrets``, creating the tenant's secret when it has none (writing unit of work)."""
        row, current = self._ensure(uow, tenant_id)
        return self._with_previous(row, current)

    def _ensure(
        self, uow: UnitOfWork, tenant_id: str, *, lost_race: bool = False
    ) -> tuple[WebhookSecret, str]:
        row = self.repo.get(uow, tenant_id)
        current = None if row is None else self._unseal(tenant_id, row.sealed)
        if row is not None and current is not None:
            return row, current
        secret = _new_secret()
        if row is not None:
            # Sealed under another master secret (it was changed): the old value is gone for good, and
            # receivers must fetch the new one, as after a rotation.
            _log.warning("webhook secret of tenant %s is unreadable; issuing a new one", tenant_id)
            row.sealed, row.previous_sealed = self._seal(tenant_id, secret), None
            row.rotated_at = self.clock.now()
            uow.session.flush()
            return row, secret
        row = WebhookSecret(
            tenant_id=tenant_id,
            sealed=self._seal(tenant_id, secret),
            previous_sealed=None,
            created_at=self.clock.now(),
            rotated_at=None,
        )
        try:
            self.repo.add(uow, row)
        except IntegrityError:  # a concurrent first delivery or request created it: use that one
            if lost_race:  # no row appeared, so the failure was not a race: it is not ours to hide
                raise
            self.repo.forget_loaded(uow)
            return self._ensure(uow, tenant_id, lost_race=True)
        return row, secret

    def _with_previous(self, row: WebhookSecret, current: str) -> list[str]:
        previous = self._open_previous(row)
        return [current] if previous is None else [current, previous]

    def _describe(self, row: WebhookSecret, secret: str) -> TenantWebhookSecret:
        previous_until = None
        if row.rotated_at is not None and self._open_previous(row) is not None:
            previous_until = row.rotated_at + self.rotation_grace
        return TenantWebhookSecret(
            secret=secret,
            created_at=row.created_at,
            rotated_at=row.rotated_at,
            previous_valid_until=previous_until,
        )

    def _open_previous(self, row: WebhookSecret) -> str | None:
        if row.previous_sealed is None or row.rotated_at is None:
            return None
        if self.clock.now() >= row.rotated_at + self.rotation_grace:
            return None
        return self._unseal(row.tenant_id, row.previous_sealed)

    def _seal(self, tenant_id: str, secret: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, secret.encode("ascii"), _aad(tenant_id))

    def _unseal(self, tenant_id: str, sealed: bytes) -> str | None:
        try:
            plain = self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], _aad(tenant_id))
        except InvalidTag:
            return None
        return plain.decode("ascii")


def _new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(os.urandom(_SECRET_BYTES)).decode("ascii")


def _aad(tenant_id: str) -> bytes:
    return f"webhook_secrets:{tenant_id}".encode()
