"""Erasing a user: anonymised at once, purged once the grace period ended.

At once: every key is revoked and renamed, queued and running casts are canceled through the cast
service (holds released, or settled by the runner for what ran), the email, token subject and ban
reason are cleared, a personal tenant loses the name it was given after the user, transfer consents
are withdrawn and the free text kept beside the user's audit records is dropped. The ``users`` row
keeps its id: it is the pseudonym the ledger postings (kept seven years) and the audit records go on
naming. Neither chain is rewritten, so ``spell ledger verify`` and ``spell audit verify`` hold.

At purge: the casts' inputs, outputs, error messages and webhook URLs are replaced, their event
streams (logs included) and artifacts deleted, the blobs no other artifact uses removed after the
commit, and the consents and preferences deleted. Cast rows stay, with their status, usage and
timings, because ledger transactions name them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from spell.kit.canonical_json import canonical_sha256
from spell.kit.time import to_rfc3339
from spell.models import ErasureRequest, PrivacyPreference, User
from spell.platform.audit.service import AuditService
from spell.platform.auth.repository import AuthRepository
from spell.platform.cast.errors import AlreadyTerminal
from spell.platform.cast.service import CastService
from spell.platform.privacy.errors import AlreadyErased
from spell.platform.privacy.repository import PrivacyRepository
from spell.platform.privacy.schemas import ErasureOut, PurgeReport
from spell.storage.blobs import BlobStore
from spell.storage.session import UnitOfWork

__all__ = ["ERASED", "Eraser"]

ERASED = {"erased": True}  # what an erased cast's input becomes (the column holds JSON, never NULL)
_ERASED_DIGEST = canonical_sha256(ERASED)
ERASED_NAME = "erased"


@dataclass(frozen=True)
class Eraser:
    """Erases and purges, in the unit of work it is given."""

    repo: PrivacyRepository
    users: AuthRepository
    casts: CastService
    audit: AuditService
    blobs: BlobStore
    grace: timedelta
    # Whether a legal hold keeps the user's data (the retention service's ``is_held``): a held user's
    # purge waits until the hold is released.
    held: Callable[[UnitOfWork, str], bool] = field(default=lambda _uow, _user_id: False)

    def erase(self, uow: UnitOfWork, user: User, *, actor_id: str | None, now: datetime) -> ErasureOut:
        """Anonymise ``user`` now and schedule the purge; ``ALREADY_ERASED`` the second time."""
        if self.repo.erasure(uow, user.id) is not None:
            raise AlreadyErased(f"user {user.id} was erased already", details={"user_id": user.id})
        canceled = 0
        for cast_id, tenant_id in self.repo.open_casts(uow, user.id):
            try:
                self.casts.cancel_in(uow, tenant_id, cast_id)
            except AlreadyTerminal:
                continue  # it ended on its own meanwhile
            canceled += 1
        revoked = 0
        for key in self.users.keys_of(uow, user.id):
            if key.revoked_at is None:
                key.revoked_at = now
                revoked += 1
            key.name = ERASED_NAME
        tenant = self.users.tenant(uow, user.tenant_id)
        if tenant is not None and [member.id for member in self.users.members(uow, tenant.id)] == [user.id]:
            tenant.name = f"{ERASED_NAME} {tenant.id}"  # a personal tenant is named after its user
        user.email = user.subject = user.ban_reason = None
        for consent in self.repo.consents(uow, user.id, active=True):
            consent.withdrawn_at = now
        uow.session.flush()
        self.repo.clear_audit_personal(uow, user.id)
        request = ErasureRequest(
            user_id=user.id,
            requested_by=actor_id,
            requested_at=now,
            anonymised_at=now,
            purge_after=now + self.grace,
        )
        self.repo.add(uow, request)
        self.audit.append(
            uow,
            "privacy.erased",
            actor_id=actor_id,
            tenant_id=user.tenant_id,
            subject=user.id,
            data={
                "purge_after": to_rfc3339(request.purge_after),
                "keys_revoked": revoked,
                "casts_canceled": canceled,
            },
        )
        return ErasureOut(
            user_id=user.id,
            requested_at=request.requested_at,
            anonymised_at=request.anonymised_at,
            purge_after=request.purge_after,
            keys_revoked=revoked,
            casts_canceled=canceled,
        )

    def purge_due(self, uow: UnitOfWork, now: datetime, *, limit: int = 100) -> PurgeReport:
        """Purge up to ``limit`` erased users whose grace period ended by ``now``."""
        report = PurgeReport(users=[], casts=0, events=0, artifacts=0)
        orphans: list[str] = []
        for request in self.repo.due_erasures(uow, now, limit):
            user_id = request.user_id
            if self.held(uow, user_id):
                continue
            casts = self.repo.purge_casts(uow, user_id, ERASED, _ERASED_DIGEST)
            events = self.repo.delete_events(uow, user_id)
            artifacts, unused = self.repo.delete_artifacts(uow, user_id)
            self.repo.delete_consents(uow, user_id)
            preference = uow.session.get(PrivacyPreference, user_id)
            if preference is not None:
                uow.session.delete(preference)
            request.purged_at = now
            self.audit.append(
                uow,
                "privacy.purged",
                actor_id=None,
                subject=user_id,
                data={"casts": casts, "events": events, "artifacts": artifacts},
            )
            orphans += unused
            report.users.append(user_id)
            report.casts += casts
            report.events += events
            report.artifacts += artifacts
        uow.session.flush()
        if orphans:
            # Blobs go only once the rows naming them are gone for good.
            uow.after_commit(lambda: _delete_blobs(self.blobs, orphans))
        return report


def _delete_blobs(blobs: BlobStore, digests: list[str]) -> None:
    for digest in digests:
        blobs.delete(digest)
