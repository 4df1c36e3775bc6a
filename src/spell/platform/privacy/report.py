"""The CCPA privacy report: the categories of personal information held about a user, with counts."""

from __future__ import annotations

from datetime import datetime

from spell.models import TransferConsent
from spell.platform.privacy.schemas import PreferencesOut, PrivacyReport, ReportCategory, TransferConsentOut

__all__ = ["LEDGER_YEARS", "build_report"]

LEDGER_YEARS = 7  # bookkeeping law: money records are kept this long, under the pseudonymous user id
_UNTIL_ERASED = "until you erase your account"
_PURGED = "until you erase your account, then {days} days"


def build_report(
    user_id: str,
    now: datetime,
    counts: dict[str, int],
    preferences: PreferencesOut,
    consents: list[TransferConsent],
    *,
    grace_days: int,
) -> PrivacyReport:
    """The report of one user from the row counts the repository found."""
    purged = _PURGED.format(days=grace_days)
    categories = [
        ReportCategory(
            category="identifiers",
            examples=["user id", "email", "sign-in subject", "API key names"],
            source="you, or your organisation's identity provider",
            purpose="signing you in and telling your keys apart",
            records=1 + counts["keys"],
            retention=_UNTIL_ERASED + " (anonymised at once; the user id stays as a pseudonym)",
        ),
        ReportCategory(
            category="usage: casts",
            examples=["spell inputs and outputs", "logs", "webhook URLs", "timings"],
            source="you",
            purpose="running the spells you cast and showing you their results",
            records=counts["casts"],
            retention=purged,
        ),
        ReportCategory(
            category="usage: artifacts",
            examples=["files your casts produced"],
            source="the spells you cast",
            purpose="handing you what your casts produced",
            records=counts["artifacts"],
            retention="until they expire, or " + purged,
        ),
        ReportCategory(
            category="commercial information",
            examples=["ledger postings", "budget caps", "payments"],
            source="you and the payment processor",
            purpose="charging for casts and paying makers, as bookkeeping law requires",
            records=counts["ledger_postings"],
            retention=f"{LEDGER_YEARS} years, under the pseudonymous user id",
        ),
        ReportCategory(
            category="security records",
            examples=["key changes", "bans", "the rights you exercised"],
            source="the platform",
            purpose="security and proving what happened",
            records=counts["audit_records"],
            retention="as long as the audit log; free text about you is removed when you are erased",
        ),
        ReportCategory(
            category="consents",
            examples=["cross-border transfer consents"],
            source="you",
            purpose="proving the consents you gave",
            records=counts["transfer_consents"],
            retention=purged,
        ),
    ]
    return PrivacyReport(
        user_id=user_id,
        generated_at=now,
        categories=categories,
        sold=False,
        shared_for_advertising=False,
        preferences=preferences,
        transfers=[TransferConsentOut.from_row(row) for row in consents],
        erasure_grace_days=grace_days,
    )
