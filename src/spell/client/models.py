"""The typed shapes the SDK reads and sends: every model it uses is imported from here."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from spell.platform.budget.schemas import BudgetCaps, BudgetView, WindowUsage

__all__ = [
    "TERMINAL_STATUSES",
    "ArtifactList",
    "ArtifactOut",
    "BudgetCaps",
    "BudgetView",
    "ButtonList",
    "ButtonOut",
    "CastError",
    "CastEvent",
    "CastList",
    "CastOut",
    "Deleted",
    "EarningsOut",
    "EstimateOut",
    "KeyCreated",
    "KeyList",
    "KeyOut",
    "LedgerEntry",
    "LedgerPage",
    "MeOut",
    "MoneyOut",
    "PublisherKeyOut",
    "SpellDetail",
    "SpellList",
    "SpellOut",
    "UsageOut",
    "VersionList",
    "VersionOut",
    "WindowUsage",
]

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "timeout", "canceled", "aborted"})

ItemT = TypeVar("ItemT", bound=BaseModel)


class MeOut(BaseModel):
    """The caller."""

    user_id: str
    email: str | None
    tenant_id: str
    roles: list[str]
    scopes: list[str]
    key_id: str | None


class KeyOut(BaseModel):
    """An API key without its secret."""

    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None
    rotated_to: str | None


class KeyCreated(KeyOut):
    """A new key with its secret, shown only in this response."""

    token: str


class KeyList(BaseModel):
    """The caller's keys."""

    items: list[KeyOut]


class PublisherKeyOut(BaseModel):
    """A publisher's signing key."""

    publisher: str
    key_id: str
    created_at: str | None = None
    revoked: bool = False


class VersionOut(BaseModel):
    """One immutable version of a spell."""

    spell_id: str
    version: str
    digest: str
    execution: str
    signer_key_id: str | None
    is_yanked: bool
    archive_size: int
    input_schema: dict[str, Any]
    manifest: dict[str, Any] = Field(default_factory=dict)
    created_at: str


class SpellOut(BaseModel):
    """A spell in the grimoire."""

    id: str
    publisher: str
    name: str
    summary: str
    tags: list[str]
    visibility: str
    is_suspended: bool
    latest_version: str
    price_amount: int
    cast_count: int
    created_at: str
    updated_at: str


class SpellDetail(SpellOut):
    """A spell and its latest version."""

    latest: VersionOut


class Paged(BaseModel, Generic[ItemT]):
    """A page of items and the cursor of the next one (None on the last page)."""

    items: list[ItemT]
    next_cursor: str | None = None


class SpellList(Paged[SpellOut]):
    """A page of spells."""


class VersionList(BaseModel):
    """Every version of a spell, newest first."""

    items: list[VersionOut]


class CastError(BaseModel):
    """Why a cast did not succeed."""

    code: str | None
    message: str | None


class CastOut(BaseModel):
    """One cast."""

    id: str
    spell_id: str
    version: str
    spell_digest: str
    button_id: str | None
    status: str
    input_digest: str
    output: Any
    usage: dict[str, Any] | None
    error: CastError | None
    retry_of: str | None
    retried_by: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    idempotent_replay: bool

    @property
    def is_terminal(self) -> bool:
        """True once the cast has ended (succeeded, failed, timed out, canceled or aborted)."""
        return self.status in TERMINAL_STATUSES


class CastList(Paged[CastOut]):
    """A page of casts, newest first."""


class CastEvent(BaseModel):
    """One server-sent event of a cast: its id (for ``Last-Event-ID``), type and data."""

    id: int
    type: str
    data: dict[str, Any]

    @property
    def is_terminal(self) -> bool:
        """True for the event that records the cast's end."""
        return self.type in TERMINAL_STATUSES


class ArtifactOut(BaseModel):
    """A file a cast produced, with a short-lived signed download URL."""

    id: str
    name: str
    sha256: str
    size: int
    media_type: str
    expires_at: str
    url: str


class ArtifactList(BaseModel):
    """A cast's artifacts."""

    items: list[ArtifactOut]


class ButtonOut(BaseModel):
    """A button."""

    id: str
    spell_id: str
    version: str
    label: str
    allowed_roles: list[str]
    allowed_tenants: list[str]
    require_signature: bool
    require_confirmation: bool
    created_at: str


class ButtonList(BaseModel):
    """Buttons the caller may see."""

    items: list[ButtonOut]


class Deleted(BaseModel):
    """A deletion."""

    id: str
    deleted: bool


class MoneyOut(BaseModel):
    """An amount in integer micro-units of a currency, with its exact decimal text."""

    amount_micros: int
    currency: str
    amount: str


class EstimateOut(BaseModel):
    """The most one cast of a spell version can cost, and the caller's balance in that currency."""

    spell_id: str
    version: str
    pricing_model: str
    charge_on_failure: bool
    estimate: MoneyOut
    balance_micros: int | None


class UsageOut(BaseModel):
    """Charges in a time range; each item holds the ``group_by`` key, currency, amount and casts."""

    model_config = ConfigDict(populate_by_name=True)

    start: str = Field(alias="from")
    end: str = Field(alias="to")
    group_by: str
    items: list[dict[str, Any]]


class LedgerEntry(BaseModel):
    """One posting of the caller's ledger."""

    id: int
    transaction_id: str
    kind: str
    account: str
    amount_micros: int
    currency: str
    cast_id: str | None
    created_at: str


class LedgerPage(Paged[LedgerEntry]):
    """A page of postings, newest first."""


class EarningsOut(BaseModel):
    """A maker tenant's earnings balance per currency and revenue per spell."""

    balances: list[dict[str, Any]]
    spells: list[dict[str, Any]]
