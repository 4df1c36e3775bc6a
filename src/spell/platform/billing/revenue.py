"""Makers' shares of their spells' revenue: an operator's per-spell override, or the platform default."""

from __future__ import annotations

from spell.errors import InvalidInput
from spell.kit.clock import Clock, SystemClock
from spell.kit.money import BASIS_POINTS
from spell.models import Spell
from spell.models.payment import RevenueShare
from spell.platform.audit.service import AuditService
from spell.platform.billing.pricing import DEFAULT_MAKER_SHARE_BPS
from spell.platform.billing.schemas import MakerShare
from spell.platform.spell.errors import spell_not_found
from spell.storage.session import UnitOfWork

__all__ = ["RevenueShareService"]


class RevenueShareService:
    """Per-spell maker shares; stateless, every method works in the unit of work it is given."""

    def __init__(
        self, audit: AuditService, *, default_bps: int = DEFAULT_MAKER_SHARE_BPS, clock: Clock | None = None
    ) -> None:
        self.audit = audit
        self.default_bps = default_bps
        self.clock = clock or SystemClock()

    def share_of(self, uow: UnitOfWork, spell_id: str) -> int:
        """The maker's share of a spell's revenue in basis points (operator override or the default)."""
        override = uow.session.get(RevenueShare, spell_id)
        return int(override.maker_share_bps) if override else self.default_bps

    def set(self, uow: UnitOfWork, spell_id: str, bps: int, *, operator_id: str | None = None) -> MakerShare:
        """Set a published spell's maker share (an audited operator action); it applies to holds made
        from now on. ``SPELL_NOT_FOUND`` for a spell the grimoire does not hold."""
        if not 0 <= bps <= BASIS_POINTS:
            raise InvalidInput(f"maker share must be 0..{BASIS_POINTS} basis points", details={"bps": bps})
        spell = uow.session.get(Spell, spell_id)
        if spell is None:
            raise spell_not_found(spell_id)
        previous = self.share_of(uow, spell_id)
        # Audit first, as in every money transaction: one lock order on PostgreSQL.
        self.audit.append(
            uow,
            "revenue_share.changed",
            actor_id=operator_id,
            tenant_id=spell.tenant_id,
            subject=spell_id,
            data={"maker_share_bps": bps, "previous_bps": previous},
        )
        now = self.clock.now()
        row = uow.session.get(RevenueShare, spell_id)
        if row is None:
            uow.session.add(
                RevenueShare(spell_id=spell_id, maker_share_bps=bps, updated_by=operator_id, updated_at=now)
            )
        else:
            row.maker_share_bps, row.updated_by, row.updated_at = bps, operator_id, now
        uow.session.flush()
        return MakerShare(spell_id=spell_id, maker_share_bps=bps)
