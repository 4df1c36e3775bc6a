"""Clone mode: a ``one_time`` spell marked ``pricing.clone`` is sold as its signed archive.

``purchase`` charges the price once per caster and spell, through the same hold → claim → capture
path as a first cast (``LedgerCastMoney.settle``): the caster's budget row is locked first, so racing
purchases queue; the first one claims the entitlement and is charged, the others find it and replay.
A cast that bought the spell counts as a purchase too, and a purchase makes casting free.

``archive`` hands a clone spell's archive only to a caller holding the entitlement (or to the
spell's own tenant), together with a licence: an ``ent1`` token signed by the platform's licence
key, which ``spell install server:…`` stores so that a billed cast of the clone runs locally.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from spell.bundle.manifest import SpellManifest
from spell.kit.clock import Clock
from spell.kit.money import Money
from spell.kit.time import to_rfc3339
from spell.models import Spell, SpellVersion
from spell.models.entitlement import Entitlement
from spell.platform import metrics
from spell.platform.audit.service import AuditService
from spell.platform.auth.schemas import Principal
from spell.platform.billing.entitlements import EntitlementService
from spell.platform.billing.errors import NotPurchasable, PurchaseRequired
from spell.platform.billing.idempotency import check_key
from spell.platform.billing.pricing import effective_pricing
from spell.platform.billing.revenue import RevenueShareService
from spell.platform.billing.schemas import EntitlementOut, Purchase
from spell.platform.budget.service import BudgetService
from spell.platform.cast.errors import IdempotencyConflict, SpellSuspended
from spell.platform.spell.service import SpellService
from spell.signing.entitlement import EntitlementClaims, issue_token
from spell.signing.keys import public_key_to_b64url
from spell.storage.session import UnitOfWork

__all__ = ["CloneArchive", "CloneService", "LicenseIssuer"]

_DERIVE = b"spell-clone-licence-key-v1"
# A purchase is for good: the licence never expires (a refund revokes the purchase on the server).
_FOREVER = "9999-12-31T23:59:59Z"


class LicenseIssuer:
    """The platform's licence key, derived from the server secret so every node signs alike.

    Its issuer name ``platform:<fingerprint>`` holds a ``:``, which no publisher name may, so trusting
    it can never make a bundle pass as some publisher's.
    """

    key_id = "v1"

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self.private = private
        self.public_key = public_key_to_b64url(private.public_key())
        self.issuer = "platform:" + hashlib.sha256(self.public_key.encode("ascii")).hexdigest()[:16]

    @classmethod
    def from_secret(cls, secret: str) -> LicenseIssuer:
        """The issuer every node sharing ``secret`` derives alike."""
        return cls(
            Ed25519PrivateKey.from_private_bytes(hmac.new(secret.encode(), _DERIVE, "sha256").digest())
        )

    def issue(self, manifest: SpellManifest, *, bought_at: datetime) -> str:
        """A licence matching what a local billed cast of ``manifest`` asks for (its ``billing`` block,
        else the one-time price as an ``upfront`` amount)."""
        pricing = effective_pricing(manifest)
        billing = manifest.billing
        claims = EntitlementClaims(
            issuer=self.issuer,
            key_id=self.key_id,
            mode="on_success" if billing.enabled and billing.mode == "on_success" else "upfront",
            currency=billing.currency if billing.enabled else pricing.currency,
            max_amount=billing.max_amount if billing.enabled else pricing.amount_micros / 1_000_000,
            not_before=to_rfc3339(bought_at),
            expires_at=_FOREVER,
        )
        return issue_token(claims, self.private)


@dataclass(frozen=True)
class CloneArchive:
    """A version's archive and, for a bought clone spell, the buyer's licence."""

    version: SpellVersion
    content: bytes
    license: str | None


class CloneService:
    """Purchases and clone downloads; stateless, every method works in the unit of work it is given."""

    def __init__(
        self,
        spells: SpellService,
        budgets: BudgetService,
        audit: AuditService,
        shares: RevenueShareService,
        issuer: LicenseIssuer,
        *,
        entitlements: EntitlementService | None = None,
        clock: Clock,
    ) -> None:
        self.spells = spells
        self.budgets = budgets
        self.audit = audit
        self.shares = shares
        self.issuer = issuer
        self.entitlements = entitlements or EntitlementService()
        self.clock = clock

    def purchase(self, uow: UnitOfWork, principal: Principal, spell_id: str, key: str | None) -> Purchase:
        """Buy a ``one_time`` spell (its latest version's price) once; a bought spell replays free."""
        key = check_key(key, what="a purchase")
        principal.require("cast:invoke")
        spell = self._sellable(uow, principal, spell_id)
        manifest = self.spells.manifest_of(self.spells.version(uow, spell, None))
        pricing = effective_pricing(manifest)
        if pricing.model != "one_time":
            raise NotPurchasable(
                f"spell {spell.id!r} is priced {pricing.model}, not one_time",
                details={"spell_id": spell.id, "pricing_model": pricing.model},
                hint=f"cast it instead: POST /v1/spells/{spell.id}/cast",
            )
        price, caster = Money(pricing.amount_micros, pricing.currency), principal.user_id
        self.budgets.lock_caster(uow, caster, price.currency)  # racing purchases queue here
        owned = self._owned(uow, caster, spell.id)
        if owned is not None:
            return Purchase(entitlement=owned, charged=False, clone=pricing.clone)
        purchase_id = "pur_" + hashlib.sha256(f"{caster}\0{spell.id}\0{key}".encode()).hexdigest()[:32]
        if self.budgets.hold(uow, purchase_id) is not None:
            raise IdempotencyConflict(
                "this Idempotency-Key already paid for a purchase that was refunded",
                details={"spell_id": spell.id},
                hint="buy again with a new Idempotency-Key",
            )
        now = self.clock.now()
        if price.micros:
            self.budgets.reserve(
                uow,
                cast_id=purchase_id,
                caster_id=caster,
                spell_id=spell.id,
                maker_id=spell.tenant_id,
                estimate=price,
                maker_share_bps=self.shares.share_of(uow, spell.id),
            )
        self.entitlements.claim(uow, caster, spell.id, purchase_id, price, at=now)
        if price.micros:
            self._capture(uow, principal, spell.id, purchase_id, price)
        bought = self._owned(uow, caster, spell.id)
        assert bought is not None  # noqa: S101 - claimed above under the caster's lock
        return Purchase(entitlement=bought, charged=bool(price.micros), clone=pricing.clone)

    def archive(self, uow: UnitOfWork, principal: Principal, spell_id: str, version: str) -> CloneArchive:
        """A version's archive; a clone spell's only for its buyers (402 ``PURCHASE_REQUIRED``), with
        their licence, and for its own tenant."""
        row, content = self.spells.archive(uow, principal, spell_id, version)
        pricing = effective_pricing(self.spells.manifest_of(row))
        if not pricing.clone:
            return CloneArchive(row, content, None)
        spell = uow.session.get(Spell, row.spell_id)
        if spell is not None and spell.tenant_id == principal.tenant_id:
            return CloneArchive(row, content, None)
        owned = uow.session.get(Entitlement, (principal.user_id, row.spell_id))
        if owned is None or owned.revoked_at is not None:
            raise PurchaseRequired(
                f"spell {row.spell_id!r} is sold in clone mode: buy it before downloading it",
                details={
                    "spell_id": row.spell_id,
                    "price": Money(pricing.amount_micros, pricing.currency).to_dict(),
                },
                hint=f"buy it: `spell purchase {row.spell_id}` (POST /v1/spells/{row.spell_id}/purchase)",
            )
        return CloneArchive(
            row, content, self.issuer.issue(self.spells.manifest_of(row), bought_at=owned.bought_at)
        )

    def _sellable(self, uow: UnitOfWork, principal: Principal, spell_id: str) -> Spell:
        spell = self.spells.visible(uow, principal, spell_id)
        if spell.is_suspended:
            details = {"spell_id": spell.id, "reason": spell.suspend_reason}
            raise SpellSuspended(f"spell {spell.id!r} is suspended", details=details)
        return spell

    def _capture(
        self, uow: UnitOfWork, principal: Principal, spell_id: str, purchase_id: str, price: Money
    ) -> None:
        self.budgets.capture(uow, purchase_id, price)
        txn = self.budgets.ledger.find(uow, f"{purchase_id}:capture")
        if txn is not None:
            self.entitlements.paid_by(uow, principal.user_id, spell_id, txn.id)
        uow.after_commit(lambda: metrics.revenue(price.currency, price.micros))
        self.audit.append(
            uow,
            "charge.captured",
            actor_id=principal.user_id,
            tenant_id=principal.tenant_id,
            subject=purchase_id,
            data={"spell_id": spell_id, "reason": "purchase", **price.to_dict()},
        )

    @staticmethod
    def _owned(uow: UnitOfWork, caster_id: str, spell_id: str) -> EntitlementOut | None:
        row = uow.session.scalar(
            select(Entitlement)
            .where(
                Entitlement.caster_id == caster_id,
                Entitlement.spell_id == spell_id,
                Entitlement.revoked_at.is_(None),
            )
            .execution_options(populate_existing=True)
        )
        return None if row is None else EntitlementOut.from_row(row)
