"""Data-subject rights of the caller: export, rectify, restrict, do-not-sell, transfer consents, erase.

Every route acts on the caller's own user only and needs the ``keys:manage`` scope (an account-level
credential: a narrow cast-only key cannot export or erase an account). A restricted user keeps them all.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from spell.api.deps import CurrentPlatform, CurrentPrincipal
from spell.api.routing import GuardedRoute
from spell.api.schemas import error_docs
from spell.platform.auth.schemas import Principal
from spell.platform.privacy.schemas import (
    ConsentList,
    ErasureOut,
    ErasureRequestBody,
    PreferencesOut,
    PreferencesUpdate,
    PrivacyReport,
    ProfileOut,
    ProfileUpdate,
    TransferConsentIn,
    TransferConsentOut,
)

router = APIRouter(route_class=GuardedRoute, tags=["privacy"])

_SPOOL_BYTES = 8 * 1024 * 1024  # an export larger than this waits in a temporary file, not in memory
_CHUNK = 64 * 1024
_SCOPE = "keys:manage"


def _me(principal: Principal) -> str:
    principal.require(_SCOPE)
    return principal.user_id


@router.patch("/v1/users/me", response_model=ProfileOut, responses=error_docs({409: "ALREADY_EXISTS"}))
def rectify(body: ProfileUpdate, principal: CurrentPrincipal, platform: CurrentPlatform) -> ProfileOut:
    """Correct your profile (your email); 409 ``ALREADY_EXISTS`` when another user has that email."""
    user_id = _me(principal)
    with platform.db.unit_of_work() as uow:
        return ProfileOut.from_row(platform.privacy.rectify(uow, user_id, body, actor_id=user_id))


@router.get(
    "/v1/users/me/export",
    response_class=StreamingResponse,
    responses={200: {"description": "One JSON document", "content": {"application/json": {}}}},
)
def export(principal: CurrentPrincipal, platform: CurrentPlatform) -> StreamingResponse:
    """Everything kept about you as one JSON document: profile, keys (never secrets), preferences and
    consents, budget, casts with their inputs, outputs, events and artifact list, ledger postings and
    the audit records about you. Streamed; the export itself is audited."""
    user_id = _me(principal)
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 (closed by the stream)
    try:
        with platform.db.unit_of_work(write=False) as uow:
            platform.privacy.export(uow, user_id, spool)
        with platform.db.unit_of_work() as uow:
            platform.privacy.record_export(uow, user_id, actor_id=user_id)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return StreamingResponse(
        _chunks(spool),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="spell-export-{user_id}.json"'},
    )


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    with spool:
        while chunk := spool.read(_CHUNK):
            yield chunk


@router.get("/v1/users/me/privacy", response_model=PreferencesOut)
def get_preferences(principal: CurrentPrincipal, platform: CurrentPlatform) -> PreferencesOut:
    """Your processing choices: restricted processing and the do-not-sell-or-share opt-out."""
    user_id = _me(principal)
    with platform.db.unit_of_work(write=False) as uow:
        return platform.privacy.preferences(uow, user_id)


@router.patch("/v1/users/me/privacy", response_model=PreferencesOut)
def set_preferences(
    body: PreferencesUpdate, principal: CurrentPrincipal, platform: CurrentPlatform
) -> PreferencesOut:
    """Restrict processing (no new cast runs for you: 403 ``PROCESSING_RESTRICTED``; your data is kept)
    or lift it; opt out of (or back into) the sale and sharing of your personal information."""
    user_id = _me(principal)
    with platform.db.unit_of_work() as uow:
        return platform.privacy.set_preferences(uow, user_id, body, actor_id=user_id)


@router.get("/v1/users/me/privacy/report", response_model=PrivacyReport)
def report(principal: CurrentPrincipal, platform: CurrentPlatform) -> PrivacyReport:
    """The CCPA privacy report: each category of personal information held about you, its source,
    purpose, retention and how many records hold it; sale and sharing; transfers in force."""
    user_id = _me(principal)
    with platform.db.unit_of_work(write=False) as uow:
        return platform.privacy.report(uow, user_id)


@router.get("/v1/users/me/privacy/data-transfers", response_model=ConsentList)
def list_transfers(principal: CurrentPrincipal, platform: CurrentPlatform) -> ConsentList:
    """Your cross-border transfer consents, withdrawn ones included."""
    user_id = _me(principal)
    with platform.db.unit_of_work(write=False) as uow:
        rows = platform.privacy.consents(uow, user_id)
        return ConsentList(items=[TransferConsentOut.from_row(row) for row in rows])


@router.post("/v1/users/me/privacy/data-transfers", status_code=201, response_model=TransferConsentOut)
def grant_transfer(
    body: TransferConsentIn, principal: CurrentPrincipal, platform: CurrentPlatform
) -> TransferConsentOut:
    """Consent to your data going to a region for a purpose; the consent in force for the same pair is
    answered as is."""
    user_id = _me(principal)
    with platform.db.unit_of_work() as uow:
        row = platform.privacy.grant_transfer(uow, user_id, body, actor_id=user_id)
        return TransferConsentOut.from_row(row)


@router.delete(
    "/v1/users/me/privacy/data-transfers/{consent_id}",
    response_model=TransferConsentOut,
    responses=error_docs({404: "CONSENT_NOT_FOUND"}),
)
def withdraw_transfer(
    consent_id: str, principal: CurrentPrincipal, platform: CurrentPlatform
) -> TransferConsentOut:
    """Withdraw a consent (kept, with the time it was withdrawn, as proof of what was consented)."""
    user_id = _me(principal)
    with platform.db.unit_of_work() as uow:
        row = platform.privacy.withdraw_transfer(uow, user_id, consent_id, actor_id=user_id)
        return TransferConsentOut.from_row(row)


@router.post(
    "/v1/users/me/erase",
    status_code=202,
    response_model=ErasureOut,
    responses=error_docs({422: "ERASURE_NOT_CONFIRMED"}),
)
def erase(body: ErasureRequestBody, principal: CurrentPrincipal, platform: CurrentPlatform) -> ErasureOut:
    """Erase your account (``{"confirm": true}``; it cannot be undone). At once: every key is revoked,
    queued and running casts are canceled, your email and sign-in subject are removed. After the grace
    period your casts' inputs, outputs, logs and artifacts are purged. Ledger postings stay seven years
    under your user id, which no longer leads to you."""
    user_id = _me(principal)
    with platform.db.unit_of_work() as uow:
        return platform.privacy.erase(uow, user_id, actor_id=user_id, confirmed=body.confirm)
