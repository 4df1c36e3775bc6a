"""One-time purchases: the first charged cast of a ``one_time`` spell buys it, later casts are free.

``claim`` runs in the settling cast's transaction, just before its capture: the first insert of
``(caster, spell)`` wins (a racing insert waits for the winner's commit, then finds the row), so of
casts racing to buy a spell exactly one is charged and the others' holds are released. A full refund
of the purchase revokes it; the next charged cast buys it again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, select, update

from spell.kit.money import Money
from spell.models.entitlement import Entitlement
from spell.platform.billing.schemas import EntitlementOut, EntitlementPage
from spell.platform.ledger.repository import insert_ignore
from spell.storage.session import UnitOfWork

__all__ = ["EntitlementService"]


class EntitlementService:
    """Entitlements; stateless, every method works in the unit of work it is given."""

    def holds(self, uow: UnitOfWork, caster_id: str, spell_id: str) -> bool:
        """True when the caster bought the spell (and the purchase was not refunded in full)."""
        found = uow.session.scalar(
            select(Entitlement.cast_id).where(
                Entitlement.caster_id == caster_id,
                Entitlement.spell_id == spell_id,
                Entitlement.revoked_at.is_(None),
            )
        )
        return found is not None

    def claim(
        self, uow: UnitOfWork, caster_id: str, spell_id: str, cast_id: str, price: Money, *, at: datetime
    ) -> bool:
        """Record ``cast_id`` as the purchase; False when the caster holds the spell already."""
        table = Entitlement.__table__
        assert isinstance(table, Table)  # noqa: S101 - declarative tables are Table objects
        values = {
            "caster_id": caster_id,
            "spell_id": spell_id,
            "cast_id": cast_id,
            "currency": price.currency,
            "price_micros": price.micros,
            "transaction_id": None,
            "bought_at": at,
            "revoked_at": None,
        }
        if insert_ignore(uow.session, table, values, ["caster_id", "spell_id"]):
            return True
        # A revoked purchase is bought again, by one cast only: the update is conditional.
        again = uow.session.execute(
            update(Entitlement)
            .where(
                Entitlement.caster_id == caster_id,
                Entitlement.spell_id == spell_id,
                Entitlement.revoked_at.is_not(None),
            )
            .values(
                cast_id=cast_id,
                currency=price.currency,
                price_micros=price.micros,
                bought_at=at,
                revoked_at=None,
                transaction_id=None,
            ),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(again, "rowcount", 0) == 1)

    def paid_by(self, uow: UnitOfWork, caster_id: str, spell_id: str, transaction_id: str) -> None:
        """Link the purchase to the ledger transaction that charged it."""
        uow.session.execute(
            update(Entitlement)
            .where(Entitlement.caster_id == caster_id, Entitlement.spell_id == spell_id)
            .values(transaction_id=transaction_id),
            execution_options={"synchronize_session": False},
        )

    def revoke(self, uow: UnitOfWork, cast_id: str, *, at: datetime) -> None:
        """Revoke the purchase ``cast_id`` made, if it made one (its charge was refunded in full)."""
        uow.session.execute(
            update(Entitlement)
            .where(Entitlement.cast_id == cast_id, Entitlement.revoked_at.is_(None))
            .values(revoked_at=at),
            execution_options={"synchronize_session": False},
        )

    def of_caster(self, uow: UnitOfWork, caster_id: str) -> EntitlementPage:
        """The caster's purchases, newest first."""
        rows = uow.session.scalars(
            select(Entitlement)
            .where(Entitlement.caster_id == caster_id, Entitlement.revoked_at.is_(None))
            .order_by(Entitlement.bought_at.desc())
        )
        return EntitlementPage(items=[EntitlementOut.from_row(row) for row in rows])
