"""Queries on buttons (keyed by owning tenant and button id)."""

from __future__ import annotations

from sqlalchemy import select

from spell.models import Button
from spell.storage.session import UnitOfWork

__all__ = ["ButtonRepository"]


class ButtonRepository:
    """All SQL the button domain runs."""

    def get(self, uow: UnitOfWork, tenant_id: str, button_id: str) -> Button | None:
        """The tenant's button of that id."""
        return uow.session.get(Button, (tenant_id, button_id))

    def everyone(self, uow: UnitOfWork) -> list[Button]:
        """Every button, by id then owner."""
        return list(uow.session.scalars(select(Button).order_by(Button.id, Button.tenant_id)))

    def with_id(self, uow: UnitOfWork, button_id: str) -> list[Button]:
        """The buttons of that id, whichever tenant owns them."""
        return list(uow.session.scalars(select(Button).where(Button.id == button_id)))

    def add(self, uow: UnitOfWork, button: Button) -> None:
        """Insert a button."""
        uow.session.add(button)
        uow.session.flush()

    def delete(self, uow: UnitOfWork, button: Button) -> None:
        """Remove a button."""
        uow.session.delete(button)
        uow.session.flush()

    def flush(self, uow: UnitOfWork) -> None:
        """Write the changes made to loaded buttons."""
        uow.session.flush()
