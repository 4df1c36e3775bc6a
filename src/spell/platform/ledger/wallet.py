"""Prepaid credit granted by an operator: one audited ledger transaction per reference."""

from __future__ import annotations

from typing import Protocol

from spell.kit.ids import new_id
from spell.kit.money import Money
from spell.models import User
from spell.platform.audit.service import AuditService
from spell.platform.ledger.schemas import CreditGrant, MoneyAmount
from spell.platform.ledger.service import LedgerService
from spell.storage.session import UnitOfWork

__all__ = ["UserLookup", "WalletService"]


class UserLookup(Protocol):
    """Finds a user by id or email (``AuthService``)."""

    def find_user(self, uow: UnitOfWork, ref: str) -> User:
        """The user, or ``NOT_FOUND``."""
        ...


class WalletService:
    """Credits wallets; stateless, every method works in the unit of work it is given."""

    def __init__(self, ledger: LedgerService, audit: AuditService, users: UserLookup) -> None:
        self.ledger = ledger
        self.audit = audit
        self.users = users

    def grant(
        self, uow: UnitOfWork, user_ref: str, amount: Money, *, reference: str | None = None
    ) -> CreditGrant:
        """Credit ``amount`` to the wallet of the user ``user_ref`` names (id or email).

        A repeated ``reference`` credits nothing and records nothing; without one the grant is new.
        """
        user = self.users.find_user(uow, user_ref)
        key = f"admin-credit:{reference or new_id('grant')}"
        if self.ledger.find(uow, key) is None:
            # Audit first, as in every money transaction: one lock order on PostgreSQL.
            self.audit.append(
                uow,
                "credit.granted",
                actor_id=None,
                tenant_id=user.tenant_id,
                subject=user.id,
                data={"key": key, **amount.to_dict()},
            )
        txn = self.ledger.credit(
            uow, user.id, amount, idempotency_key=key, memo={"source": "admin", "reference": reference}
        )
        balance = self.ledger.balance(uow, user.id, "wallet", amount.currency)
        return CreditGrant(
            user_id=user.id,
            transaction_id=txn.id,
            credited=MoneyAmount.of(amount),
            balance=MoneyAmount.of(balance),
        )
