"""Policy violations: recorded from their sources, counted per subject in a window, and past the threshold
the subject (a spell or a user) is suspended once, audited, and its maker told; an operator reinstates it.

Sources and their units of work:

- a cast that ends refused for egress or a limit: ``cast_failed``, called by ``CastEnding`` in the
  transaction that ends the cast (only when it ends with an error code, never for a success);
- a publish refused for its signature or its SBOM: ``publish_refused``, in a unit of work of its own
  opened by the edge after the publish rolled back, so nothing of the refused publish is kept;
- a rate-limit storm: ``storms.refused`` counts refusals in memory and ``rate_limit_storm`` records one
  violation per user and minute past ``SPELL_ABUSE_STORM_REFUSALS``.

The subject's row is locked before its violations are counted, so of two racing violations the second
counts the first's and only one suspends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from spell.config.abuse import AbuseSettings
from spell.errors import (
    InvalidInput,
    InvalidSbom,
    NotFound,
    PermissionDenied,
    SpellError,
    SupplyChainRefused,
    VerificationError,
)
from spell.kit.clock import Clock, SystemClock
from spell.kit.ids import new_id
from spell.kit.time import parse_rfc3339, to_rfc3339
from spell.models import Cast, PolicyViolation, Publisher, Spell, User
from spell.platform.abuse.errors import NotSuspended
from spell.platform.abuse.repository import ViolationRepository
from spell.platform.abuse.schemas import Reinstatement, ViolationFilter, ViolationOut, ViolationPage
from spell.platform.abuse.storms import StormCounter
from spell.platform.audit.service import AuditService
from spell.platform.auth.schemas import Principal
from spell.platform.auth.service import AuthService
from spell.platform.spell.errors import spell_not_found
from spell.platform.spell.service import SpellService
from spell.platform.supply.notices import SupplyNotices
from spell.storage.session import UnitOfWork

__all__ = ["CAST_KINDS", "AbuseService", "Violation", "publish_violation"]

# The error codes a cast ends with that are the spell's violations, and their kind. A spell that fails
# on its own (a trap, a failed step) or that the platform failed is not refused anything.
CAST_KINDS = {
    "EGRESS_DENIED": "egress",
    "FUEL_EXHAUSTED": "limit",
    "MEMORY_LIMIT": "limit",
    "OUTPUT_LIMIT": "limit",
    "TIMEOUT": "limit",
}
_MESSAGE_CHARS = 500


@dataclass(frozen=True)
class Violation:
    """A violation about to be recorded."""

    kind: str
    subject_type: str  # "spell" or "user"
    subject_id: str
    cast_id: str | None = None
    spell_version: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class AbuseService:
    """Records violations and suspends past ``settings.suspend_threshold`` within the window."""

    def __init__(
        self,
        settings: AbuseSettings,
        spells: SpellService,
        auth: AuthService,
        notices: SupplyNotices,
        audit: AuditService,
        *,
        clock: Clock | None = None,
        repo: ViolationRepository | None = None,
    ) -> None:
        self.settings, self.spells, self.auth, self.notices, self.audit = (
            settings,
            spells,
            auth,
            notices,
            audit,
        )
        self.clock = clock or SystemClock()
        self.repo = repo or ViolationRepository()
        self.storms = StormCounter(settings.storm_refusals, self.clock)

    # sources ---------------------------------------------------------------------------------------
    def cast_failed(self, uow: UnitOfWork, cast: Cast, error_code: str) -> PolicyViolation | None:
        """A cast ended with ``error_code``: charged to its spell when the code is a refusal."""
        kind = CAST_KINDS.get(error_code)
        if kind is None:
            return None
        details = {"code": error_code, "caster_id": cast.user_id}
        return self.record(uow, Violation(kind, "spell", cast.spell_id, cast.id, cast.version, details))

    def publish_refused(
        self, uow: UnitOfWork, principal: Principal, exc: SpellError
    ) -> PolicyViolation | None:
        """A publish by ``principal`` was refused with ``exc``: charged to them when it is a signature or
        supply-chain refusal (other refusals, a malformed manifest say, are mistakes, not abuse)."""
        kind = publish_violation(exc)
        if kind is None:
            return None
        details = {"code": exc.code, "message": exc.message[:_MESSAGE_CHARS]}
        return self.record(uow, Violation(kind, "user", principal.user_id, details=details))

    def rate_limit_storm(self, uow: UnitOfWork, principal: Principal) -> PolicyViolation | None:
        """``principal`` was refused ``storm_refusals`` casts within a minute (``storms.refused``)."""
        details = {"refusals": self.settings.storm_refusals, "key_id": principal.key_id}
        return self.record(uow, Violation("rate_limit_storm", "user", principal.user_id, details=details))

    # counting and suspending -----------------------------------------------------------------------
    def record(self, uow: UnitOfWork, violation: Violation) -> PolicyViolation | None:
        """Insert ``violation`` and suspend its subject when it reaches the threshold (exactly once: the
        one reaching it while the subject is not suspended). None when the subject does not exist."""
        subject = self._locked(uow, violation.subject_type, violation.subject_id)
        if subject is None:
            return None
        now = self.clock.now()
        row = PolicyViolation(
            id=new_id("vio"),
            kind=violation.kind,
            subject_type=violation.subject_type,
            subject_id=violation.subject_id,
            tenant_id=subject.tenant_id,
            cast_id=violation.cast_id,
            spell_version=violation.spell_version,
            details=violation.details,
            suspended=False,
            created_at=now,
            cleared_at=None,
        )
        self.repo.add(uow, row)
        threshold = self.settings.suspend_threshold
        if threshold <= 0 or _is_suspended(subject):
            return row
        since = now - timedelta(hours=self.settings.window_hours)
        count = self.repo.open_count(uow, violation.subject_type, violation.subject_id, since)
        if count >= threshold:
            row.suspended = True
            self._suspend(uow, subject, count, now)
        return row

    def _locked(self, uow: UnitOfWork, subject_type: str, subject_id: str) -> Spell | User | None:
        if subject_type == "spell":
            return self.repo.locked_spell(uow, subject_id)
        return self.repo.locked_user(uow, subject_id)

    def _suspend(self, uow: UnitOfWork, subject: Spell | User, count: int, now: datetime) -> None:
        hours = self.settings.window_hours
        reason = f"suspended automatically: {count} policy violations within {hours} hours"
        details: dict[str, Any] = {"reason": reason, "violations": count, "window_hours": hours}
        if isinstance(subject, Spell):
            self.spells.set_suspended(uow, subject.id, suspended=True, reason=reason)
            subject_type, publishers = "spell", [subject.publisher]
            spell_id, version = subject.id, subject.latest_version
        else:
            self.auth.set_ban(uow, subject.id, banned=True, reason=reason)
            subject_type = "user"
            publishers = list(
                uow.session.scalars(
                    select(Publisher.name)
                    .where(Publisher.tenant_id == subject.tenant_id)
                    .order_by(Publisher.name)
                )
            )
            spell_id = version = ""
        data = {"subject_type": subject_type, "subject_id": subject.id, **details}
        self.audit.append(
            uow, "abuse.suspended", actor_id=None, tenant_id=subject.tenant_id, subject=subject.id, data=data
        )
        for name in publishers:
            self.notices.tell(uow, name, spell_id, version, "suspended", data, now)

    # operators -------------------------------------------------------------------------------------
    def page(self, uow: UnitOfWork, principal: Principal, where: ViolationFilter) -> ViolationPage:
        """Violations newest first, filtered (admins only: the ``admin`` role with the ``admin`` scope)."""
        _require_admin(principal)
        return self.list(uow, where)

    def list(self, uow: UnitOfWork, where: ViolationFilter) -> ViolationPage:
        """``page`` for the operator's CLI, on the server machine."""
        rows = self.repo.page(uow, where, _cursor(where.cursor))
        last = rows[-1] if len(rows) == where.limit else None
        return ViolationPage(
            items=[ViolationOut.from_row(row) for row in rows],
            next_cursor=f"{to_rfc3339(last.created_at)}|{last.id}" if last is not None else None,
        )

    def reinstate(
        self,
        uow: UnitOfWork,
        principal: Principal | None,
        subject_type: str,
        subject_id: str,
        *,
        note: str | None = None,
    ) -> Reinstatement:
        """Lift a spell's suspension or a user's ban, and stop counting their violations so far.

        ``principal`` None is the operator's CLI; otherwise admins only. The audit chain gets
        ``abuse.reinstated`` naming the actor and the note, beside the spell's or user's own record.
        """
        if principal is not None:
            _require_admin(principal)
        actor_id = principal.user_id if principal is not None else None
        subject = self._locked(uow, subject_type, subject_id)
        if subject is None:
            if subject_type == "spell":
                raise spell_not_found(subject_id)
            raise NotFound(f"no user {subject_id!r}", details={"user": subject_id})
        if not _is_suspended(subject):
            raise NotSuspended(
                f"{subject_type} {subject_id!r} is not suspended",
                details={"subject_type": subject_type, "subject_id": subject_id},
            )
        if isinstance(subject, Spell):
            self.spells.set_suspended(uow, subject.id, suspended=False, reason=None, actor_id=actor_id)
        else:
            self.auth.set_ban(uow, subject.id, banned=False, actor_id=actor_id)
        cleared = self.repo.clear(uow, subject_type, subject_id, self.clock.now())
        self.audit.append(
            uow,
            "abuse.reinstated",
            actor_id=actor_id,
            tenant_id=subject.tenant_id,
            subject=subject_id,
            data={"subject_type": subject_type, "subject_id": subject_id, "note": note, "cleared": cleared},
        )
        return Reinstatement(subject_type=subject_type, subject_id=subject_id, cleared=cleared)


def publish_violation(exc: SpellError) -> str | None:
    """The violation kind of a publish refused with ``exc``, or None when it is no violation."""
    if isinstance(exc, VerificationError):
        return "signature"
    if isinstance(exc, SupplyChainRefused | InvalidSbom):
        return "supply"
    return None


def _is_suspended(subject: Spell | User) -> bool:
    return subject.is_suspended if isinstance(subject, Spell) else subject.is_banned


def _require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise PermissionDenied(
            "only admins see and reinstate policy violations",
            hint="use a key of an admin user carrying the admin scope",
        )


def _cursor(text: str | None) -> tuple[datetime, str] | None:
    if text is None:
        return None
    at, sep, last_id = text.partition("|")
    try:
        if not sep or not last_id:
            raise ValueError(text)
        return parse_rfc3339(at), last_id
    except ValueError:
        raise InvalidInput("cursor is not one this listing handed out", details={"cursor": text}) from None
