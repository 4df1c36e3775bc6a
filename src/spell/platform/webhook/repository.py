"""Rows of tenants' sealed webhook secrets."""

from __future__ import annotations

from spell.models import WebhookSecret
from spell.storage.session import UnitOfWork

__all__ = ["WebhookSecretRepository"]


class WebhookSecretRepository:
    """All SQL the webhook-secret domain runs."""

    def get(self, uow: UnitOfWork, tenant_id: str) -> WebhookSecret | None:
        """The tenant's row, if it has one."""
        return uow.session.get(WebhookSecret, tenant_id)

    def add(self, uow: UnitOfWork, row: WebhookSecret) -> None:
        """Insert a tenant's first row in a savepoint: a concurrent first insert fails only this
        (``IntegrityError``), and the transaction stays usable."""
        with uow.session.begin_nested():
            uow.session.add(row)
            uow.session.flush()

    def forget_loaded(self, uow: UnitOfWork) -> None:
        """Drop what the session holds, so the next read sees rows other transactions committed."""
        uow.session.expire_all()
