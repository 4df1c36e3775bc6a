"""Wire shapes of the grimoire: spells, versions, suspensions, publisher keys and Sigstore identities."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from spell.kit.wire import Rfc3339, Rfc3339OrNone, RowModel

if TYPE_CHECKING:  # rows are only read here: the SDK imports these shapes without the database models
    from spell.models import PublisherKey, Spell, SpellVersion
    from spell.platform.spell.sigstore import PublisherSigstore

__all__ = [
    "PublishedVersion",
    "PublisherKeyCreate",
    "PublisherKeyOut",
    "SbomAdvisory",
    "SbomSummary",
    "SigstoreIdentityCreate",
    "SigstoreIdentityOut",
    "SigstorePolicyOut",
    "SigstorePolicyUpdate",
    "SpellDetail",
    "SpellList",
    "SpellOut",
    "SuspendBody",
    "SuspensionOut",
    "VersionList",
    "VersionOut",
    "VersionSbomOut",
    "VisibilityUpdate",
]


class PublisherKeyCreate(BaseModel):
    """An Ed25519 public key (SPKI-DER, base64url) and its id."""

    key_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")
    public_key: str = Field(min_length=1, max_length=200)


class PublisherKeyOut(BaseModel):
    """A publisher's signing key."""

    publisher: str
    key_id: str
    created_at: Rfc3339OrNone = None
    revoked: bool = False

    @classmethod
    def registered(cls, row: PublisherKey) -> PublisherKeyOut:
        """A key just registered."""
        return cls(publisher=row.publisher, key_id=row.key_id, created_at=row.created_at)

    @classmethod
    def revoked_row(cls, row: PublisherKey) -> PublisherKeyOut:
        """A key just revoked."""
        return cls(publisher=row.publisher, key_id=row.key_id, revoked=True)


class SigstoreIdentityCreate(BaseModel):
    """A certificate identity (an e-mail, or a CI workflow URI) and the OIDC issuer that vouches for it."""

    identity: str = Field(min_length=1, max_length=500)
    issuer: str = Field(min_length=1, max_length=500)


class SigstoreIdentityOut(RowModel):
    """An identity allowed to sign the publisher's bundles with Sigstore (until revoked)."""

    id: str
    publisher: str
    identity: str
    issuer: str
    created_at: Rfc3339
    revoked_at: Rfc3339OrNone = None


class SigstorePolicyUpdate(BaseModel):
    """Whether every bundle of the publisher must carry a ``spell.sigstore.json`` that verifies."""

    required: bool


class SigstorePolicyOut(BaseModel):
    """A publisher's Sigstore policy and every identity it registered, revoked ones included."""

    publisher: str
    required: bool
    items: list[SigstoreIdentityOut]

    @classmethod
    def of(cls, policy: PublisherSigstore) -> SigstorePolicyOut:
        """The wire shape of a publisher's policy."""
        items = [SigstoreIdentityOut.from_row(row) for row in policy.identities]
        return cls(publisher=policy.publisher, required=policy.required, items=items)


class VisibilityUpdate(BaseModel):
    """Who may see the spell."""

    visibility: Literal["public", "unlisted", "private", "team"]


class SuspendBody(BaseModel):
    """Why the operator suspends a spell."""

    reason: str | None = Field(default=None, max_length=500)


class VersionOut(RowModel):
    """One immutable version of a spell."""

    spell_id: str
    version: str
    digest: str
    execution: str
    signer_key_id: str | None
    sigstore_identity: str | None = None
    is_yanked: bool
    # supply chain: a re-scan found a blocking advisory; delisted at delist_at unless fixed
    flagged_at: Rfc3339OrNone = None
    delist_at: Rfc3339OrNone = None
    delisted_at: Rfc3339OrNone = None
    archive_size: int
    input_schema: dict[str, Any]
    manifest: dict[str, Any]
    created_at: Rfc3339


class PublishedVersion(VersionOut):
    """A version just published, and what the supply-chain gate warned about without refusing it
    (advisories under the blocking score, licence notes)."""

    warnings: list[str] = Field(default_factory=list)


class SbomAdvisory(BaseModel):
    """An imported advisory matching one of the SBOM's components."""

    advisory_id: str
    component: str  # the versioned purl, else name@version
    score: float | None
    severity: str
    summary: str
    blocking: bool  # at or above the deployment's blocking score


class SbomSummary(BaseModel):
    """Counts over an SBOM: its components, the advisories matching them now by severity, and the
    licence expressions they declare (``NOASSERTION`` for a component that declares none)."""

    components: int
    advisories: dict[str, int]
    licenses: dict[str, int]


class VersionSbomOut(BaseModel):
    """The SBOM a version was published with, and what it says today."""

    spell_id: str
    version: str
    format: Literal["spdx", "cyclonedx"]
    spec_version: str
    path: str
    summary: SbomSummary
    advisories: list[SbomAdvisory]
    document: dict[str, Any]


class SpellOut(RowModel):
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
    created_at: Rfc3339
    updated_at: Rfc3339


class SuspensionOut(BaseModel):
    """A spell's suspension, as an operator action answers it (nothing of the spell beyond that)."""

    spell_id: str
    is_suspended: bool
    reason: str | None

    @classmethod
    def from_row(cls, spell: Spell) -> SuspensionOut:
        """The spell's id and suspension, nothing its tenant keeps private."""
        return cls(spell_id=spell.id, is_suspended=spell.is_suspended, reason=spell.suspend_reason)


class SpellDetail(SpellOut):
    """A spell and its latest version."""

    latest: VersionOut

    @classmethod
    def from_rows(cls, spell: Spell, latest: SpellVersion, cast_count: int) -> SpellDetail:
        """A spell row, its latest version's row and its exact cast count (the row's may lag)."""
        fields = SpellOut.from_row(spell).model_dump()
        fields["cast_count"] = cast_count
        return cls(**fields, latest=VersionOut.from_row(latest))


class SpellList(BaseModel):
    """A page of spells."""

    items: list[SpellOut]
    next_cursor: str | None


class VersionList(BaseModel):
    """Every version of a spell, newest first."""

    items: list[VersionOut]
