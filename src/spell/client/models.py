"""The typed shapes the SDK reads and sends: every model it uses is imported from here.

They are the server's own wire schemas (``spell.platform.<domain>.schemas``), which read rows only
for type checking, so ``import spell.client`` loads neither the web framework nor the database
models. What only a client needs is defined here: a server-sent event, a downloaded archive, the
page protocol the iterators walk, and whether a cast has ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from spell.platform.artifact.schemas import ArtifactList, ArtifactOut
from spell.platform.auth.schemas import KeyCreated, KeyList, KeyOut, MeOut
from spell.platform.billing.schemas import Estimate as EstimateOut
from spell.platform.budget.schemas import BudgetCaps, BudgetView, WindowUsage
from spell.platform.button.schemas import ButtonList, ButtonOut
from spell.platform.cast.schemas import CastError, CastList, CastOut
from spell.platform.ledger.schemas import Earnings as EarningsOut
from spell.platform.ledger.schemas import LedgerEntry, LedgerPage
from spell.platform.ledger.schemas import MoneyAmount as MoneyOut
from spell.platform.ledger.schemas import UsageReport as UsageOut
from spell.platform.spell.schemas import (
    PublishedVersion,
    PublisherKeyOut,
    SbomAdvisory,
    SbomSummary,
    SigstoreIdentityOut,
    SigstorePolicyOut,
    SpellDetail,
    SpellList,
    SpellOut,
    VersionList,
    VersionOut,
    VersionSbomOut,
)
from spell.platform.supply.schemas import NoticeList, NoticeOut, PublisherWebhookOut

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
    "NoticeList",
    "NoticeOut",
    "Paged",
    "PublishedVersion",
    "PublisherKeyOut",
    "PublisherWebhookOut",
    "SbomAdvisory",
    "SbomSummary",
    "SigstoreIdentityOut",
    "SigstorePolicyOut",
    "SpellDetail",
    "SpellList",
    "SpellOut",
    "UsageOut",
    "VersionArchive",
    "VersionList",
    "VersionOut",
    "VersionSbomOut",
    "WindowUsage",
    "ended",
]

# The server's terminal cast statuses as text (tests/client/test_models.py holds them equal to
# ``spell.models.TERMINAL_STATUSES``, which the SDK does not import).
TERMINAL_STATUSES = frozenset({"succeeded", "failed", "timeout", "canceled", "aborted"})

ItemT = TypeVar("ItemT", covariant=True)


class Paged(Protocol[ItemT]):
    """A page of a cursor-paged listing (``SpellList``, ``CastList``, ``LedgerPage``)."""

    @property
    def items(self) -> Sequence[ItemT]: ...

    @property
    def next_cursor(self) -> str | None: ...


def ended(cast: CastOut) -> bool:
    """True once the cast has ended (succeeded, failed, timed out, canceled or aborted)."""
    return cast.status in TERMINAL_STATUSES


class VersionArchive(BaseModel):
    """A version's canonical archive as published (signature included) and the digest the server
    recorded for it (``X-Spell-Digest``)."""

    content: bytes
    digest: str | None
    # A bought clone spell's licence (an ``ent1`` token), its issuer and ``KEY_ID:PUBLIC_KEY``.
    license: str | None = None
    license_issuer: str | None = None
    license_key: str | None = None


class CastEvent(BaseModel):
    """One server-sent event of a cast: its id (for ``Last-Event-ID``), type and data."""

    id: int
    type: str
    data: dict[str, Any]

    @property
    def is_terminal(self) -> bool:
        """True for the event that records the cast's end."""
        return self.type in TERMINAL_STATUSES


class Deleted(BaseModel):
    """A deletion (``spell.api.schemas.Deleted``, which the SDK does not import with the web app)."""

    id: str
    deleted: bool
