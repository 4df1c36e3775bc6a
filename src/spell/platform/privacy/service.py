"""The data-subject rights of GDPR, CCPA and APPI, for the user themselves (routes) or an operator (CLI).

Every right exercised leaves an audit record (``privacy.*``) naming the user by id only. Restricting
processing is enforced where data would be processed: ``CastService`` asks ``check_processing_allowed``
(its ``admission``) before it creates a cast, so a restricted user's data is kept but no new cast runs
on it (403 ``PROCESSING_RESTRICTED``); reading, exporting, correcting and erasing stay open to them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO

from spell.config.privacy import PrivacySettings
from spell.errors import AlreadyExists
from spell.kit.clock import Clock, SystemClock
from spell.kit.ids import new_id
from spell.models import PrivacyPreference, TransferConsent, User
from spell.platform.audit.service import AuditService
from spell.platform.auth.service import AuthService
from spell.platform.budget.service import BudgetService
from spell.platform.cast.service import Admission, Asking, CastService
from spell.platform.ledger.service import LedgerService
from spell.platform.privacy.erasure import Eraser
from spell.platform.privacy.errors import ConsentNotFound, ErasureNotConfirmed, ProcessingRestricted
from spell.platform.privacy.export import ExportWriter
from spell.platform.privacy.report import build_report
from spell.platform.privacy.repository import PrivacyRepository
from spell.platform.privacy.schemas import (
    ErasureOut,
    PreferencesOut,
    PreferencesUpdate,
    PrivacyReport,
    ProfileUpdate,
    PurgeReport,
    TransferConsentIn,
)
from spell.storage.blobs import BlobStore
from spell.storage.changes import CachedReads
from spell.storage.session import UnitOfWork

__all__ = ["PrivacyParts", "PrivacyService"]


@dataclass(frozen=True)
class PrivacyParts:
    """The services a right reaches into, built once by the platform."""

    auth: AuthService
    casts: CastService
    audit: AuditService
    budgets: BudgetService
    ledger: LedgerService
    blobs: BlobStore


class PrivacyService:
    """Stateless: every method takes the caller's unit of work first and only flushes."""

    def __init__(
        self,
        parts: PrivacyParts,
        settings: PrivacySettings,
        *,
        clock: Clock | None = None,
        repository: PrivacyRepository | None = None,
        cache_s: float = 1.0,
    ) -> None:
        self.parts, self.settings = parts, settings
        self.clock = clock or SystemClock()
        self.repo = repository or PrivacyRepository()
        # Every cast asks; a change to a preference is seen on the next request, here and (through the
        # change generations and their notifications) on every node, as a revoked key is.
        self._restricted: CachedReads[str, bool] = CachedReads(
            PrivacyPreference, ttl_s=cache_s, clock=self.clock
        )
        self.audit = parts.audit
        self.eraser = Eraser(
            self.repo,
            parts.auth.repo,
            parts.casts,
            parts.audit,
            parts.blobs,
            timedelta(days=settings.grace_days),
        )
        self.exporter = ExportWriter(
            self.repo, parts.auth.repo, parts.budgets, parts.ledger, settings.export_batch
        )

    def user(self, uow: UnitOfWork, ref: str) -> User:
        """A user by id or email (``NOT_FOUND`` otherwise), for the operator's commands."""
        return self.parts.auth.find_user(uow, ref)

    # access and portability ------------------------------------------------------------------------
    def export(self, uow: UnitOfWork, user_id: str, out: IO[bytes]) -> None:
        """Write everything kept about the user to ``out`` as one JSON document (reads only: on SQLite a
        long export in a write transaction would hold every writer back). Hand it over only once
        ``record_export`` committed."""
        user = self.parts.auth.get_user(uow, user_id)
        self.exporter.write(uow, user, out, now=self.clock.now())

    def record_export(self, uow: UnitOfWork, user_id: str, *, actor_id: str | None) -> None:
        """The audit record of an export just written."""
        user = self.parts.auth.get_user(uow, user_id)
        self.audit.append(
            uow, "privacy.exported", actor_id=actor_id, tenant_id=user.tenant_id, subject=user.id
        )

    def report(self, uow: UnitOfWork, user_id: str) -> PrivacyReport:
        """What is held about the user, where it came from, why and for how long (CCPA right to know)."""
        user = self.parts.auth.get_user(uow, user_id)
        return build_report(
            user.id,
            self.clock.now(),
            self.repo.counts(uow, user.id),
            self.preferences(uow, user.id),
            self.repo.consents(uow, user.id, active=True),
            grace_days=self.settings.grace_days,
        )

    # rectification ------------------------------------------------------------------------------
    def rectify(self, uow: UnitOfWork, user_id: str, update: ProfileUpdate, *, actor_id: str | None) -> User:
        """Correct the profile; a personal tenant named after the old email follows it. Audited with
        the names of the fields changed, never their values."""
        user = self.parts.auth.get_user(uow, user_id)
        changed: list[str] = []
        if update.email is not None and update.email != user.email:
            auth = self.parts.auth
            if auth.repo.email_taken(uow, update.email):
                raise AlreadyExists("another user has this email", details={"field": "email"})
            tenant = auth.repo.tenant(uow, user.tenant_id)
            if (
                tenant is not None
                and user.email is not None
                and tenant.name == user.email
                and auth.repo.tenant_named(uow, update.email) is None
            ):
                tenant.name = update.email
            user.email = update.email
            changed.append("email")
        if changed:
            uow.session.flush()
            self.audit.append(
                uow,
                "privacy.rectified",
                actor_id=actor_id,
                tenant_id=user.tenant_id,
                subject=user.id,
                data={"fields": changed},
            )
        return user

    # restriction and opt-out --------------------------------------------------------------------------
    def preferences(self, uow: UnitOfWork, user_id: str) -> PreferencesOut:
        """The user's processing choices (defaults when never set)."""
        return PreferencesOut.from_row(self.repo.preference(uow, user_id))

    def set_preferences(
        self, uow: UnitOfWork, user_id: str, update: PreferencesUpdate, *, actor_id: str | None
    ) -> PreferencesOut:
        """Restrict (or lift the restriction of) processing and opt out of (or back into) sale and
        sharing; each change is audited."""
        user = self.parts.auth.get_user(uow, user_id)
        now = self.clock.now()
        row = self.repo.preference(uow, user.id)
        if row is None:
            row = PrivacyPreference(
                user_id=user.id, is_processing_restricted=False, is_do_not_sell=False, updated_at=now
            )
            self.repo.add(uow, row)
        actions: list[tuple[str, dict[str, bool]]] = []
        wanted = update.restrict_processing
        if wanted is not None and wanted != row.is_processing_restricted:
            row.is_processing_restricted, row.restricted_at = wanted, now if wanted else None
            actions.append(("privacy.restricted" if wanted else "privacy.unrestricted", {}))
        opted = update.do_not_sell_or_share
        if opted is not None and opted != row.is_do_not_sell:
            row.is_do_not_sell = opted
            actions.append(("privacy.do_not_sell", {"opted_out": opted}))
        if actions:
            row.updated_at = now
            uow.session.flush()
        for action, data in actions:
            self.audit.append(
                uow, action, actor_id=actor_id, tenant_id=user.tenant_id, subject=user.id, data=data
            )
        return PreferencesOut.from_row(row)

    def admission(self) -> Admission:
        """The cast service's admission of this service: restricted users cast nothing."""
        return Admission("privacy", self.check_processing_allowed)

    def check_processing_allowed(self, asking: Asking) -> None:
        """Refuse (403 ``PROCESSING_RESTRICTED``) a new cast for a user who restricted processing."""
        if asking.uow is None:  # pragma: no cover - an admission that does not call out gets one
            raise AssertionError("the processing check reads in the creating transaction")
        principal = asking.principal
        if self._is_restricted(asking.uow, principal.user_id):
            raise ProcessingRestricted(
                "you restricted the processing of your data: no new cast runs until you lift it",
                details={"user_id": principal.user_id},
                hint='PATCH /v1/users/me/privacy with {"restrict_processing": false}',
            )

    def _is_restricted(self, uow: UnitOfWork, user_id: str) -> bool:
        restricted = self._restricted.get(user_id)
        if restricted is None:
            seen = self._restricted.snapshot()
            row = self.repo.preference(uow, user_id)
            restricted = row is not None and row.is_processing_restricted
            self._restricted.put(user_id, restricted, seen)
        return restricted

    # cross-border transfers ---------------------------------------------------------------------------
    def consents(self, uow: UnitOfWork, user_id: str) -> list[TransferConsent]:
        """The user's transfer consents, withdrawn ones included."""
        return self.repo.consents(uow, user_id)

    def grant_transfer(
        self, uow: UnitOfWork, user_id: str, body: TransferConsentIn, *, actor_id: str | None
    ) -> TransferConsent:
        """Consent to a transfer; the consent in force for the same region and purpose is returned as is."""
        user = self.parts.auth.get_user(uow, user_id)
        for row in self.repo.consents(uow, user.id, active=True):
            if (row.region, row.purpose) == (body.region, body.purpose):
                return row
        row = TransferConsent(
            id=new_id("tc"),
            user_id=user.id,
            region=body.region,
            purpose=body.purpose,
            granted_at=self.clock.now(),
        )
        self.repo.add(uow, row)
        self.audit.append(
            uow,
            "privacy.transfer_consented",
            actor_id=actor_id,
            tenant_id=user.tenant_id,
            subject=user.id,
            data={"consent_id": row.id, "region": row.region, "purpose": row.purpose},
        )
        return row

    def withdraw_transfer(
        self, uow: UnitOfWork, user_id: str, consent_id: str, *, actor_id: str | None
    ) -> TransferConsent:
        """Withdraw one of the user's consents (``CONSENT_NOT_FOUND`` for anyone else's); the row is kept."""
        row = self.repo.consent(uow, consent_id)
        if row is None or row.user_id != user_id:
            raise ConsentNotFound(f"no consent {consent_id!r}", details={"consent_id": consent_id})
        if row.withdrawn_at is None:
            row.withdrawn_at = self.clock.now()
            uow.session.flush()
            user = self.parts.auth.get_user(uow, user_id)
            self.audit.append(
                uow,
                "privacy.transfer_withdrawn",
                actor_id=actor_id,
                tenant_id=user.tenant_id,
                subject=user.id,
                data={"consent_id": row.id, "region": row.region, "purpose": row.purpose},
            )
        return row

    # erasure ----------------------------------------------------------------------------------------
    def erase(self, uow: UnitOfWork, user_id: str, *, actor_id: str | None, confirmed: bool) -> ErasureOut:
        """Anonymise the user now; their casts, logs and artifacts go at the purge after the grace
        period. It cannot be undone: without ``confirmed`` it is ``ERASURE_NOT_CONFIRMED``."""
        if not confirmed:
            raise ErasureNotConfirmed(
                "erasing cannot be undone: confirm it",
                details={"user_id": user_id},
                hint='send {"confirm": true}',
            )
        user = self.parts.auth.get_user(uow, user_id)
        return self.eraser.erase(uow, user, actor_id=actor_id, now=self.clock.now())

    def purge_due(self, uow: UnitOfWork, now: datetime | None = None, *, limit: int = 100) -> PurgeReport:
        """Purge the erased users whose grace period ended by ``now`` (default: the clock's now)."""
        return self.eraser.purge_due(uow, self.clock.now() if now is None else now, limit=limit)

    def erase_due(self, uow: UnitOfWork, now: datetime) -> int:
        """The retention run's side: purge what is due at ``now``; how many users were purged."""
        return len(self.purge_due(uow, now).users)

    def respect_holds(self, held: Callable[[UnitOfWork, str], bool]) -> None:
        """Leave users under a legal hold (``held(uow, user_id)``) unpurged until it is released."""
        self.eraser = dataclasses.replace(self.eraser, held=held)
