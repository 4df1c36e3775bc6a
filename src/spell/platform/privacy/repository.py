"""SQL of the data-subject rights: preferences, consents, erasures, and what a user's data is made of."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update

from spell.models import (
    ApiKey,
    Artifact,
    AuditRecord,
    Cast,
    CastEvent,
    CastStatus,
    ErasureRequest,
    LedgerAccount,
    LedgerPosting,
    PrivacyPreference,
    TransferConsent,
)
from spell.storage.session import UnitOfWork

__all__ = ["PrivacyRepository"]

_OPEN = (CastStatus.QUEUED, CastStatus.RUNNING)


def _about(user_id: str) -> Any:
    """Audit records about a user: what they did and what was done to them."""
    return or_(AuditRecord.actor_id == user_id, AuditRecord.subject == user_id)


class PrivacyRepository:
    """Every method works in the unit of work it is given and only flushes."""

    # preferences and consents -------------------------------------------------------------------
    def preference(self, uow: UnitOfWork, user_id: str) -> PrivacyPreference | None:
        """The user's preference row, if they ever set one."""
        return uow.session.get(PrivacyPreference, user_id)

    def add(self, uow: UnitOfWork, row: PrivacyPreference | TransferConsent | ErasureRequest) -> None:
        """Insert a row."""
        uow.session.add(row)
        uow.session.flush()

    def consents(self, uow: UnitOfWork, user_id: str, *, active: bool = False) -> list[TransferConsent]:
        """The user's transfer consents, oldest first; with ``active``, only those not withdrawn."""
        query = select(TransferConsent).where(TransferConsent.user_id == user_id)
        if active:
            query = query.where(TransferConsent.withdrawn_at.is_(None))
        return list(uow.session.scalars(query.order_by(TransferConsent.granted_at, TransferConsent.id)))

    def consent(self, uow: UnitOfWork, consent_id: str) -> TransferConsent | None:
        """One consent by id."""
        return uow.session.get(TransferConsent, consent_id)

    # erasure --------------------------------------------------------------------------------------
    def erasure(self, uow: UnitOfWork, user_id: str) -> ErasureRequest | None:
        """The user's erasure, if they were erased."""
        return uow.session.get(ErasureRequest, user_id)

    def due_erasures(self, uow: UnitOfWork, now: datetime, limit: int) -> list[ErasureRequest]:
        """Erasures whose grace period ended and that were not purged yet, oldest first."""
        query = (
            select(ErasureRequest)
            .where(ErasureRequest.purged_at.is_(None), ErasureRequest.purge_after <= now)
            .order_by(ErasureRequest.purge_after, ErasureRequest.user_id)
            .limit(limit)
        )
        return list(uow.session.scalars(query))

    def open_casts(self, uow: UnitOfWork, user_id: str) -> list[tuple[str, str]]:
        """``(cast id, tenant id)`` of the user's queued and running casts."""
        query = select(Cast.id, Cast.tenant_id).where(Cast.user_id == user_id, Cast.status.in_(_OPEN))
        return [(row[0], row[1]) for row in uow.session.execute(query.order_by(Cast.id))]

    def clear_audit_personal(self, uow: UnitOfWork, user_id: str) -> int:
        """Drop the free text kept beside the user's audit records (outside their hashes)."""
        result = uow.session.execute(
            update(AuditRecord)
            .where(_about(user_id), AuditRecord.personal.is_not(None))
            .values(personal=None)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # reading a user's data --------------------------------------------------------------------------
    def casts_after(self, uow: UnitOfWork, user_id: str, after_id: str, limit: int) -> list[Cast]:
        """The user's casts in id order after ``after_id`` (keyset pages)."""
        query = select(Cast).where(Cast.user_id == user_id, Cast.id > after_id).order_by(Cast.id).limit(limit)
        return list(uow.session.scalars(query))

    def events_of(self, uow: UnitOfWork, cast_ids: Sequence[str]) -> list[CastEvent]:
        """The events of these casts, per cast in order."""
        query = select(CastEvent).where(CastEvent.cast_id.in_(cast_ids))
        return list(uow.session.scalars(query.order_by(CastEvent.cast_id, CastEvent.seq)))

    def artifacts_of(self, uow: UnitOfWork, cast_ids: Sequence[str]) -> list[Artifact]:
        """The artifacts of these casts."""
        query = select(Artifact).where(Artifact.cast_id.in_(cast_ids))
        return list(uow.session.scalars(query.order_by(Artifact.cast_id, Artifact.id)))

    def audit_about(self, uow: UnitOfWork, user_id: str, after_seq: int, limit: int) -> list[AuditRecord]:
        """Audit records about the user in chain order after ``after_seq``."""
        query = (
            select(AuditRecord)
            .where(_about(user_id), AuditRecord.seq > after_seq)
            .order_by(AuditRecord.seq)
            .limit(limit)
        )
        return list(uow.session.scalars(query))

    def counts(self, uow: UnitOfWork, user_id: str) -> dict[str, int]:
        """How many rows of each kind hold the user's data."""
        session = uow.session
        casts = select(Cast.id).where(Cast.user_id == user_id)
        accounts = select(LedgerAccount.id).where(LedgerAccount.owner_id == user_id)

        def count(query: Any) -> int:
            return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)

        return {
            "keys": count(select(ApiKey.id).where(ApiKey.user_id == user_id)),
            "casts": count(casts),
            "artifacts": count(select(Artifact.id).where(Artifact.cast_id.in_(casts))),
            "ledger_postings": count(select(LedgerPosting.id).where(LedgerPosting.account_id.in_(accounts))),
            "audit_records": count(select(AuditRecord.seq).where(_about(user_id))),
            "transfer_consents": count(select(TransferConsent.id).where(TransferConsent.user_id == user_id)),
        }

    # purging -------------------------------------------------------------------------------------
    def purge_casts(self, uow: UnitOfWork, user_id: str, erased: Any, erased_digest: str) -> int:
        """Replace the content of the user's casts (input, output, errors, webhook) by ``erased``; the
        rows stay, since ledger transactions name them."""
        result = uow.session.execute(
            update(Cast)
            .where(Cast.user_id == user_id)
            .values(
                input=erased,
                input_digest=erased_digest,
                request_digest=erased_digest,
                output=None,
                error_message=None,
                webhook_url=None,
            )
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def delete_events(self, uow: UnitOfWork, user_id: str) -> int:
        """Delete the event streams (progress and logs) of the user's casts."""
        casts = select(Cast.id).where(Cast.user_id == user_id)
        result = uow.session.execute(
            delete(CastEvent).where(CastEvent.cast_id.in_(casts)).execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def delete_artifacts(self, uow: UnitOfWork, user_id: str) -> tuple[int, list[str]]:
        """Delete the artifact rows of the user's casts: how many, and the digests no other artifact
        still uses."""
        casts = select(Cast.id).where(Cast.user_id == user_id)
        digests = list(uow.session.scalars(select(Artifact.sha256).where(Artifact.cast_id.in_(casts))))
        if not digests:
            return 0, []
        uow.session.execute(
            delete(Artifact).where(Artifact.cast_id.in_(casts)).execution_options(synchronize_session=False)
        )
        kept = set(uow.session.scalars(select(Artifact.sha256).where(Artifact.sha256.in_(set(digests)))))
        return len(digests), sorted(set(digests) - kept)

    def delete_consents(self, uow: UnitOfWork, user_id: str) -> None:
        """Delete the user's transfer consents (nothing is transferred for an erased user any more)."""
        uow.session.execute(
            delete(TransferConsent)
            .where(TransferConsent.user_id == user_id)
            .execution_options(synchronize_session=False)
        )
