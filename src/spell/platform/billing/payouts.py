"""Maker payouts: what each maker is owed (their earnings balance) moved to paid-out, and transferred.

A payout moves the whole owed amount, rounded down to the currency's smallest unit (the rest stays
owed), from the maker's ``earnings`` account to their ``payouts`` account in one ledger transaction.
Where the publisher has a Stripe Connect account and Stripe is configured, the money is sent with
``Transfer.create`` in the same database transaction; otherwise the payout is recorded as manual (the
operator pays by hand). Idempotent by construction: a payout's ledger key and the provider's key are
``payout:<maker>:<currency>:<paid before>``, its place in the maker's sequence, so a retried run
after a crash between the provider's answer and our commit replays the same transfer, and a run
after a committed payout finds nothing owed.
"""

from __future__ import annotations

from sqlalchemy import select

from spell.errors import PublisherNotFound, SpellError
from spell.kit.clock import Clock, SystemClock
from spell.kit.ids import new_id
from spell.kit.money import Money, minor_unit_exponent
from spell.models import Publisher
from spell.models.ledger import LedgerAccount
from spell.models.payout import Payout
from spell.platform.audit.service import AuditService
from spell.platform.auth.schemas import Principal
from spell.platform.billing.errors import NothingOwed
from spell.platform.billing.payments import PaymentService
from spell.platform.billing.schemas import Owed, PayoutAccount, PayoutOut, PayoutPage, PayoutRun
from spell.platform.ledger.service import LedgerService, Leg
from spell.platform.spell.publishers import owned_publisher
from spell.storage.session import Database, UnitOfWork

__all__ = ["PayoutService", "run_payouts"]


def _payable(micros: int, currency: str) -> int:
    """``micros`` rounded down to the currency's smallest unit."""
    step = 10 ** (6 - minor_unit_exponent(currency))
    return int(micros - micros % step)


class PayoutService:
    """Payouts; stateless, every method works in the unit of work it is given."""

    def __init__(
        self,
        ledger: LedgerService,
        audit: AuditService,
        payments: PaymentService,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.ledger = ledger
        self.audit = audit
        self.payments = payments  # its provider is the one card processor of the platform
        self.clock = clock or SystemClock()

    def owed(self, uow: UnitOfWork, *, publisher: str | None = None) -> list[Owed]:
        """Every maker's payable earnings per currency (one publisher's maker when named)."""
        query = select(LedgerAccount).where(
            LedgerAccount.kind == "earnings", LedgerAccount.balance_micros > 0
        )
        named = self._publisher(uow, publisher) if publisher else None
        if named is not None:
            query = query.where(LedgerAccount.owner_id == named.tenant_id)
        lines = []
        for account in uow.session.scalars(query.order_by(LedgerAccount.owner_id, LedgerAccount.currency)):
            amount = _payable(account.balance_micros, account.currency)
            if amount == 0:
                continue
            target = named or self._first_publisher(uow, account.owner_id)
            lines.append(
                Owed(
                    maker_id=account.owner_id,
                    publisher=target.name if target else None,
                    currency=account.currency,
                    amount_micros=amount,
                    destination=target.stripe_account_id if target else None,
                )
            )
        return lines

    def pay(self, uow: UnitOfWork, owed: Owed, *, operator_id: str | None) -> PayoutOut:
        """Pay what ``owed`` names, as it stands now; ``NOTHING_OWED`` when the balance is gone."""
        # The audit append comes first in every money transaction: one lock order, no deadlocks.
        self.audit.append(
            uow,
            "payout.created",
            actor_id=operator_id,
            tenant_id=owed.maker_id,
            subject=owed.maker_id,
            data={"publisher": owed.publisher, "currency": owed.currency, "destination": owed.destination},
        )
        balance = self.ledger.balance(uow, owed.maker_id, "earnings", owed.currency).micros
        amount = Money(_payable(balance, owed.currency), owed.currency)
        if amount.micros == 0:
            raise NothingOwed(
                f"{owed.publisher or owed.maker_id} is owed nothing in {owed.currency}",
                details={"maker_id": owed.maker_id, "currency": owed.currency, "earnings_micros": balance},
            )
        paid_before = self.ledger.balance(uow, owed.maker_id, "payouts", owed.currency).micros
        key = f"payout:{owed.maker_id}:{owed.currency}:{paid_before}"
        txn = self.ledger.post(
            uow,
            key,
            kind="payout",
            currency=owed.currency,
            legs=[
                Leg(owed.maker_id, "earnings", -amount.micros),
                Leg(owed.maker_id, "payouts", amount.micros),
            ],
            memo={"publisher": owed.publisher, "destination": owed.destination},
        )
        row = Payout(
            id=new_id("po"),
            maker_id=owed.maker_id,
            publisher=owed.publisher,
            currency=owed.currency,
            amount_micros=amount.micros,
            paid_before_micros=paid_before,
            method="manual",
            destination=owed.destination,
            provider_ref=None,
            status="recorded",
            transaction_id=txn.id,
            created_by=operator_id,
            created_at=self.clock.now(),
        )
        provider = self.payments.provider
        if owed.destination and provider.name != "wallet":
            transfer = provider.transfer(
                destination=owed.destination,
                amount=amount,
                idempotency_key=key,
                metadata={"maker_id": owed.maker_id, "paid_before_micros": str(paid_before)},
            )
            row.method, row.provider_ref, row.status = "stripe_transfer", transfer.ref, "paid"
        uow.session.add(row)
        uow.session.flush()
        return PayoutOut.from_row(row)

    def of_publisher(
        self, uow: UnitOfWork, principal: Principal, publisher: str, *, limit: int = 50
    ) -> PayoutPage:
        """The payouts of the maker owning ``publisher`` (their own tenant, or an admin), newest first."""
        principal.require("spell:publish")
        owner = (
            self._publisher(uow, publisher)
            if principal.is_admin
            else owned_publisher(uow, principal, publisher, claim=False)
        )
        rows = uow.session.scalars(
            select(Payout)
            .where(Payout.maker_id == owner.tenant_id)
            .order_by(Payout.created_at.desc(), Payout.id.desc())
            .limit(limit)
        )
        return PayoutPage(items=[PayoutOut.from_row(row) for row in rows])

    def set_account(
        self, uow: UnitOfWork, account: PayoutAccount, *, operator_id: str | None
    ) -> PayoutAccount:
        """Set (or clear) the Stripe Connect account a publisher's payouts go to; audited."""
        row = self._publisher(uow, account.publisher)
        self.audit.append(
            uow,
            "payout.account_set",
            actor_id=operator_id,
            tenant_id=row.tenant_id,
            subject=row.name,
            data={"stripe_account_id": account.stripe_account_id, "previous": row.stripe_account_id},
        )
        row.stripe_account_id = account.stripe_account_id
        uow.session.flush()
        return PayoutAccount(publisher=row.name, stripe_account_id=row.stripe_account_id)

    @staticmethod
    def _publisher(uow: UnitOfWork, name: str) -> Publisher:
        row = uow.session.get(Publisher, name)
        if row is None:
            raise PublisherNotFound(f"no publisher {name!r}", details={"publisher": name})
        return row

    @staticmethod
    def _first_publisher(uow: UnitOfWork, tenant_id: str) -> Publisher | None:
        """The publisher payouts go to: the first by name with a connected account, else the first."""
        rows = list(
            uow.session.scalars(
                select(Publisher).where(Publisher.tenant_id == tenant_id).order_by(Publisher.name)
            )
        )
        return next((row for row in rows if row.stripe_account_id), rows[0] if rows else None)


def run_payouts(
    db: Database, service: PayoutService, *, publisher: str | None, dry_run: bool, operator_id: str | None
) -> PayoutRun:
    """Pay every maker owed anything (one publisher's when named), one transaction per payout.

    A named publisher owed nothing is ``NOTHING_OWED`` and its refusal is raised; in a run over every
    maker one maker's refusal (an unreachable provider, a refused transfer) is listed in ``failed``
    and the others are still paid.
    """
    with db.unit_of_work(write=False) as uow:
        owed = service.owed(uow, publisher=publisher)
    if publisher is not None and not owed:
        raise NothingOwed(f"{publisher} is owed nothing", details={"publisher": publisher})
    if dry_run:
        return PayoutRun(dry_run=True, owed=owed, payouts=[])
    payouts, failed = [], []
    for line in owed:
        try:
            with db.unit_of_work() as uow:
                payouts.append(service.pay(uow, line, operator_id=operator_id))
        except SpellError as exc:
            if publisher is not None:
                raise
            failed.append({"maker_id": line.maker_id, "currency": line.currency, "code": exc.code})
    return PayoutRun(dry_run=False, owed=owed, payouts=payouts, failed=failed)
