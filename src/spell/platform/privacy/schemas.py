"""Wire shapes of the data-subject rights: profile, preferences, transfer consents, report, erasure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from spell.kit.wire import Rfc3339, Rfc3339OrNone, RowModel

if TYPE_CHECKING:  # rows are only read here: the SDK imports these shapes without the database models
    from spell.models import PrivacyPreference, User

__all__ = [
    "PURPOSES",
    "ConsentList",
    "ErasureOut",
    "ErasureRequestBody",
    "PreferencesOut",
    "PreferencesUpdate",
    "PrivacyReport",
    "ProfileOut",
    "ProfileUpdate",
    "PurgeReport",
    "ReportCategory",
    "TransferConsentIn",
    "TransferConsentOut",
]

PURPOSES = ("processing", "storage", "support", "payments")
Purpose = Literal["processing", "storage", "support", "payments"]


class ProfileOut(BaseModel):
    """What the platform holds to identify the user."""

    user_id: str
    email: str | None
    tenant_id: str
    roles: list[str]
    created_at: Rfc3339

    @classmethod
    def from_row(cls, user: User) -> ProfileOut:
        """A user row as its profile."""
        return cls(
            user_id=user.id,
            email=user.email,
            tenant_id=user.tenant_id,
            roles=list(user.roles),
            created_at=user.created_at,
        )


class ProfileUpdate(BaseModel):
    """Corrections to the profile (``PATCH /v1/users/me``); fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(
        default=None, min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    )


class PreferencesOut(BaseModel):
    """The user's processing choices."""

    restrict_processing: bool
    restricted_at: Rfc3339OrNone = None
    do_not_sell_or_share: bool
    updated_at: Rfc3339OrNone = None

    @classmethod
    def from_row(cls, row: PrivacyPreference | None) -> PreferencesOut:
        """A preference row, or the defaults of a user who never set one."""
        if row is None:
            return cls(restrict_processing=False, do_not_sell_or_share=False)
        return cls(
            restrict_processing=row.is_processing_restricted,
            restricted_at=row.restricted_at,
            do_not_sell_or_share=row.is_do_not_sell,
            updated_at=row.updated_at,
        )


class PreferencesUpdate(BaseModel):
    """Change one choice or both; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    restrict_processing: bool | None = Field(default=None, strict=True)
    do_not_sell_or_share: bool | None = Field(default=None, strict=True)


class TransferConsentIn(BaseModel):
    """Consent to moving the user's data to a region (ISO 3166 code, or ``EU`` / ``EEA``) for a purpose."""

    model_config = ConfigDict(extra="forbid")

    region: str = Field(pattern=r"^[A-Z]{2,3}$", description="e.g. US, JP, EU, EEA")
    purpose: Purpose


class TransferConsentOut(RowModel):
    """One consent; ``withdrawn_at`` is set once it was withdrawn."""

    id: str
    region: str
    purpose: str
    granted_at: Rfc3339
    withdrawn_at: Rfc3339OrNone


class ConsentList(BaseModel):
    """The user's transfer consents, the withdrawn ones included, oldest first."""

    items: list[TransferConsentOut]


class ReportCategory(BaseModel):
    """One category of personal information: what it is, where it came from, why it is kept, how much."""

    category: str
    examples: list[str]
    source: str
    purpose: str
    records: int
    retention: str


class PrivacyReport(BaseModel):
    """The CCPA "right to know" report: what is held about the user and what is done with it."""

    user_id: str
    generated_at: Rfc3339
    categories: list[ReportCategory]
    sold: bool = Field(description="personal information is never sold")
    shared_for_advertising: bool = Field(description="nor shared for cross-context advertising")
    preferences: PreferencesOut
    transfers: list[TransferConsentOut] = Field(description="consents in force")
    erasure_grace_days: int


class ErasureRequestBody(BaseModel):
    """Erasing cannot be undone: ``confirm`` must be ``true``."""

    model_config = ConfigDict(extra="forbid")

    confirm: bool = Field(default=False, strict=True)


class ErasureOut(BaseModel):
    """An erasure: the user is anonymised at once and purged once ``purge_after`` passed."""

    user_id: str
    requested_at: Rfc3339
    anonymised_at: Rfc3339
    purge_after: Rfc3339
    purged_at: Rfc3339OrNone = None
    keys_revoked: int = 0
    casts_canceled: int = 0


class PurgeReport(BaseModel):
    """What one purge run removed."""

    users: list[str]
    casts: int
    events: int
    artifacts: int
