"""Publishing and reading the grimoire.

Publishing unpacks the archive into a private temp folder (hostile archives are refused before any
file is written), loads the manifest, recomputes the digest, verifies the signature against the
publisher's registered keys (and a Sigstore bundle against its registered identities) and only then
records the version. Bundles are kept per digest.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from spell.bundle.archive import pack_bundle, unpack_archive
from spell.bundle.digest import BundleDigest, bundle_digest
from spell.bundle.input_schema import read_input_schema
from spell.bundle.loaders import load_manifest
from spell.bundle.manifest import SpellManifest
from spell.config.supply import SupplySettings
from spell.errors import InvalidInput, InvalidManifest
from spell.kit.clock import Clock, SystemClock
from spell.kit.ids import new_id
from spell.kit.money import MAX_MICROS
from spell.models import VISIBILITIES, Spell, SpellVersion
from spell.platform.audit.hooks import act_as
from spell.platform.auth.schemas import Principal
from spell.platform.billing.pricing import effective_pricing, estimate_max
from spell.platform.billing.service import bounds_of
from spell.platform.cast.errors import SpellSuspended
from spell.platform.spell import counts, sigstore
from spell.platform.spell.bundles import BundleCache
from spell.platform.spell.errors import spell_not_found, version_exists, version_not_found
from spell.platform.spell.listing import SORTS, decode_cursor, encode_cursor
from spell.platform.spell.publishers import SIGNATURE_HINTS, RegisteredKeys, owned_publisher
from spell.platform.spell.repository import SpellRepository
from spell.platform.spell.schemas import VersionSbomOut
from spell.platform.supply.publish_gate import keep_sbom, require_sboms, screen
from spell.platform.supply.sbom_report import sbom_report
from spell.policy.rules import ExecutionGuard, PolicyContext
from spell.runtimes.builtin import builtin_named
from spell.signing.verifier import SignatureReport, check_bundle_signature
from spell.storage.blobs import BlobStore
from spell.storage.changes import CachedReads
from spell.storage.session import UnitOfWork

__all__ = [
    "GrimoirePolicy",
    "Publication",
    "SpellPage",
    "SpellService",
    "published_signature",
    "runtime_allow_list",
]


def runtime_allow_list(
    *, host: bool = False, docker: bool = False, api: bool = False, workflow: bool = False
) -> ExecutionGuard:
    """The runtimes this server runs, checked at publish and at every cast: WASM and the platform's own
    builtin functions always; host steps, Docker, maker endpoints and GitHub workflows only when the
    operator enabled them."""
    enabled = {"host": host, "docker": docker, "api": api, "workflow": workflow}
    allowed = ("wasm", "builtin", *(name for name, on in enabled.items() if on))
    return ExecutionGuard(
        allowed,
        rule="server.runtimes",
        hint="the operator enables it with SPELL_SERVER_ALLOW_HOST_RUNTIME / _DOCKER_RUNTIME / _API_RUNTIME"
        " (workflow: SPELL_GITHUB_APP_ID)",
    )


@dataclass(frozen=True)
class GrimoirePolicy:
    """What the operator allows to be published."""

    allow_unsigned: bool = False
    runtimes: ExecutionGuard = field(default_factory=runtime_allow_list)
    supply: SupplySettings = field(default_factory=SupplySettings)


@dataclass(frozen=True)
class Publication:
    """A published version and what the supply-chain gate and the Sigstore check warned about without
    refusing it."""

    version: SpellVersion
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class SpellPage:
    """One page of a listing and the cursor of the next (None at the end)."""

    items: list[Spell]
    next_cursor: str | None


class SpellService:
    """The grimoire over a bundles folder (``<bundles_dir>/<digest hex>/``); the lookup cache's age and
    publish times are read on ``clock``."""

    def __init__(
        self,
        bundles_dir: Path,
        policy: GrimoirePolicy,
        *,
        cache_ms: int = 0,
        clock: Clock | None = None,
        repo: SpellRepository | None = None,
        blobs: BlobStore | None = None,
    ) -> None:
        self.bundles_dir = bundles_dir
        self.bundles = BundleCache(bundles_dir, blobs)
        self.policy = policy
        self.clock = clock or SystemClock()
        self.repo = repo or SpellRepository()
        self._manifests: dict[str, SpellManifest] = {}
        # (spell id, version or None for the latest) -> detached rows, for ``resolve``.
        self._resolved: CachedReads[tuple[str, str | None], tuple[Spell, SpellVersion]] = CachedReads(
            Spell, SpellVersion, ttl_s=cache_ms / 1000, clock=self.clock
        )

    # publishing ----------------------------------------------------------------------------------
    def publish(
        self,
        uow: UnitOfWork,
        principal: Principal,
        archive: bytes,
        *,
        visibility: str = "public",
        tags: list[str] | None = None,
    ) -> SpellVersion:
        """``publish_with_warnings`` for a caller that only needs the version."""
        return self.publish_with_warnings(uow, principal, archive, visibility=visibility, tags=tags).version

    def publish_with_warnings(
        self,
        uow: UnitOfWork,
        principal: Principal,
        archive: bytes,
        *,
        visibility: str = "public",
        tags: list[str] | None = None,
    ) -> Publication:
        """Publish a canonical archive; returns the new (or identical existing) version (makers only)
        and the supply-chain gate's warnings.

        A new version goes through the gate at its spell's visibility (``visibility`` for a new spell).
        The same bundle published again answers with the version as recorded, without a new verdict:
        re-scans judge published versions against later advisories.

        The same spell or version published concurrently (PostgreSQL) makes the insert fail: it is
        recorded again then, finding the other's rows, and answers as any republish does (the version
        for the same digest, ``ALREADY_EXISTS`` for another).
        """
        principal.require_role("maker")
        principal.require("spell:publish")
        act_as(uow.session, principal.user_id)
        if visibility not in VISIBILITIES:
            raise InvalidInput(f"visibility must be one of {list(VISIBILITIES)}")
        self.bundles_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".publish-", dir=self.bundles_dir))
        try:
            unpack_archive(archive, staging / "b")
            record = (uow, principal, staging / "b", len(archive), visibility, tags or [])
            try:
                with uow.session.begin_nested():
                    return self._record(*record)
            except IntegrityError:
                return self._record(*record)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _record(
        self, uow: UnitOfWork, principal: Principal, bundle: Path, size: int, visibility: str, tags: list[str]
    ) -> Publication:
        manifest = load_manifest(bundle)
        self.policy.runtimes.check(PolicyContext.from_manifest(manifest))
        if manifest.runtime.execution == "builtin":
            builtin_named(manifest.runtime.builtin or "")  # a name this platform does not ship is refused
        _check_price(manifest)
        owned_publisher(uow, principal, manifest.publisher, claim=False)
        digest = bundle_digest(bundle, manifest)
        signer = self._verify(uow, bundle, manifest, digest)
        signed = sigstore.check_publish(
            uow, bundle, manifest.publisher, digest, self.policy.supply.sigstore_trusted_root
        )
        schema = read_input_schema(bundle, manifest).schema
        existing = self.repo.version(uow, manifest.id, manifest.version)
        if existing is not None:
            if existing.digest != digest.text:
                raise version_exists(manifest.id, manifest.version, existing.digest)
            return Publication(existing)
        spell = self.repo.spell(uow, manifest.id)
        # A new version is published at its spell's visibility once the spell exists.
        supply = screen(
            uow, bundle, visibility=spell.visibility if spell else visibility, settings=self.policy.supply
        )
        self._store(bundle, digest.hex)
        now = self.clock.now()
        if spell is None:
            spell = Spell(
                id=manifest.id,
                publisher=manifest.publisher,
                tenant_id=principal.tenant_id,
                name=manifest.name,
                summary=manifest.summary,
                tags=tags,
                visibility=visibility,
                latest_version=manifest.version,
                price_amount=manifest.pricing.amount_micros,
                cast_count=0,
                is_suspended=False,
                created_at=now,
                updated_at=now,
            )
        else:
            spell.name, spell.summary, spell.updated_at = manifest.name, manifest.summary, now
            spell.price_amount = manifest.pricing.amount_micros
            if _semver(manifest.version) > _semver(spell.latest_version):
                spell.latest_version = manifest.version
        row = SpellVersion(
            id=new_id("ver"),
            spell_id=manifest.id,
            version=manifest.version,
            digest=digest.text,
            execution=manifest.runtime.execution,
            manifest=manifest.to_dict(),
            input_schema=schema,
            signer_key_id=signer,
            sigstore_identity=signed.identity,
            is_yanked=False,
            archive_size=size,
            created_at=now,
        )
        self.repo.add(uow, spell, row)
        keep_sbom(uow, row, supply, now)
        return Publication(row, supply.warnings + signed.warnings)

    def _verify(
        self, uow: UnitOfWork, bundle: Path, manifest: SpellManifest, digest: BundleDigest
    ) -> str | None:
        """The signing key id, or None for an unsigned bundle where the operator allows those.

        A signature that is there must verify even then: the version records who signed it, and a
        maker whose key is not registered learns it now rather than at the first cast that needs it.
        """
        report = check_bundle_signature(bundle, manifest, RegisteredKeys(uow), digest=digest)
        if not (report.status == "unsigned" and self.policy.allow_unsigned):
            report.raise_unless_verified(SIGNATURE_HINTS)
        return report.key_id

    def _store(self, bundle: Path, digest_hex: str) -> None:
        self.bundles.keep(bundle, digest_hex)

    # reading --------------------------------------------------------------------------------------
    def bundle_dir(self, version: SpellVersion) -> Path:
        """Where a version's bundle lives on disk (fetched from the blob store when this node lacks it)."""
        return self.bundles.fetch(version.digest.removeprefix("sha256:"), self.manifest_of(version))

    def manifest_of(self, version: SpellVersion) -> SpellManifest:
        """The version's manifest (parsed once per digest)."""
        cached = self._manifests.get(version.digest)
        if cached is None:
            cached = SpellManifest.from_dict(version.manifest)
            self._manifests[version.digest] = cached
        return cached

    def visible(self, uow: UnitOfWork, principal: Principal, spell_id: str) -> Spell:
        """The spell if the caller may see it; private and team spells exist only for their tenant."""
        spell = self.repo.spell(uow, spell_id)
        if spell is None or not _may_see(spell, principal):
            raise spell_not_found(spell_id)
        return spell

    def detail(self, uow: UnitOfWork, principal: Principal, spell_id: str) -> tuple[Spell, SpellVersion, int]:
        """A spell the caller may see, its latest version and its exact cast count (the row's may lag:
        ``counts``) (needs ``spell:read``)."""
        principal.require("spell:read")
        spell = self.visible(uow, principal, spell_id)
        return spell, self.version(uow, spell, spell.latest_version), counts.exact(uow.session, spell.id)

    def list_versions(self, uow: UnitOfWork, principal: Principal, spell_id: str) -> list[SpellVersion]:
        """Every version of a spell the caller may see, newest first (needs ``spell:read``)."""
        principal.require("spell:read")
        return self.versions(uow, self.visible(uow, principal, spell_id))

    def resolve(
        self, uow: UnitOfWork, principal: Principal, spell_id: str, version: str | None
    ) -> tuple[Spell, SpellVersion]:
        """``visible`` and ``version`` together, served from memory while neither table changed.

        The rows returned are detached snapshots shared between threads: read them, never change them.
        """
        key = (spell_id, version)
        hit = self._resolved.get(key)
        if hit is None:
            seen = self._resolved.snapshot()
            spell = self.repo.spell(uow, spell_id)
            if spell is None:
                raise spell_not_found(spell_id)
            row = self.version(uow, spell, version)
            uow.session.expunge(spell)
            uow.session.expunge(row)
            hit = (spell, row)
            self._resolved.put(key, hit, seen)
        if not _may_see(hit[0], principal):
            raise spell_not_found(spell_id)
        return hit

    def version(self, uow: UnitOfWork, spell: Spell, version: str | None) -> SpellVersion:
        """A version (default: the latest neither yanked nor delisted); those still resolve when named."""
        if version is not None:
            row = self.repo.version(uow, spell.id, version)
            if row is None:
                raise version_not_found(spell.id, version)
            return row
        rows = [r for r in self.repo.versions(uow, spell.id) if not r.is_yanked and r.delisted_at is None]
        if not rows:
            raise version_not_found(spell.id, "latest")
        return max(rows, key=lambda r: _semver(r.version))

    def archive(
        self, uow: UnitOfWork, principal: Principal, spell_id: str, version: str
    ) -> tuple[SpellVersion, bytes]:
        """A version's canonical archive, signature included, for an install that verifies it again.

        The caller must see the spell (``spell:read``); a suspended spell is not handed out.
        """
        principal.require("spell:read")
        spell = self.visible(uow, principal, spell_id)
        if spell.is_suspended:
            details = {"spell_id": spell.id, "reason": spell.suspend_reason}
            raise SpellSuspended(f"spell {spell.id!r} is suspended", details=details)
        row = self.version(uow, spell, version)
        return row, pack_bundle(self.bundle_dir(row))

    def sbom(self, uow: UnitOfWork, principal: Principal, spell_id: str, version: str) -> VersionSbomOut:
        """The SBOM a version was published with and its counts (``spell:read``; the spell's visibility
        applies as for reading it; ``SBOM_NOT_FOUND`` for a version without one)."""
        principal.require("spell:read")
        spell = self.visible(uow, principal, spell_id)
        return sbom_report(uow, spell, self.version(uow, spell, version), self.policy.supply)

    def versions(self, uow: UnitOfWork, spell: Spell) -> list[SpellVersion]:
        """Every version, newest first."""
        return sorted(self.repo.versions(uow, spell.id), key=lambda r: _semver(r.version), reverse=True)

    def search(
        self,
        uow: UnitOfWork,
        principal: Principal,
        *,
        q: str | None = None,
        tag: str | None = None,
        sort: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> SpellPage:
        """Listed spells: public ones, and the caller's tenant's private and team ones (``spell:read``).

        ``q`` keeps spells holding each of its words (or a word starting so) in their id, name or
        summary. A cursor continues the listing it was issued for, in its order (``sort``, when given,
        must be that order); without either the order is ``recent``."""
        principal.require("spell:read")
        if sort is not None and sort not in SORTS:
            raise InvalidInput(f"sort must be one of {list(SORTS)}", details={"sort": sort})
        if not 1 <= limit <= 100:
            raise InvalidInput("limit must be between 1 and 100", details={"limit": limit})
        after = decode_cursor(cursor) if cursor else None
        if after is not None and sort is not None and sort != after.sort:
            raise InvalidInput(
                "cursor belongs to another sort order", details={"cursor": cursor, "sort": sort}
            )
        order = after.sort if after is not None else sort or "recent"
        if tag is not None and "\x00" in tag:
            return SpellPage(items=[], next_cursor=None)  # no tag holds NUL, and PostgreSQL text cannot
        rows = self.repo.listed(
            uow, principal.tenant_id, q=q, tag=tag, sort=order, after=after, limit=limit + 1
        )
        page = rows[:limit]
        more = len(rows) > limit
        return SpellPage(items=page, next_cursor=encode_cursor(page[-1], order) if more else None)

    # maker and operator controls ------------------------------------------------------------------
    def owned(self, uow: UnitOfWork, principal: Principal, spell_id: str) -> Spell:
        """The spell if the caller's tenant publishes it (others: not found or forbidden)."""
        principal.require("spell:publish")
        act_as(uow.session, principal.user_id)
        spell = self.visible(uow, principal, spell_id)
        owned_publisher(uow, principal, spell.publisher, claim=False)
        return spell

    def mine(self, uow: UnitOfWork, principal: Principal) -> list[Spell]:
        """Every spell the caller's tenant publishes, unlisted and delisted ones too (``spell:publish``)."""
        principal.require("spell:publish")
        return self.repo.of_tenant(uow, principal.tenant_id)

    def set_visibility(self, uow: UnitOfWork, principal: Principal, spell_id: str, visibility: str) -> Spell:
        """Change who can see the spell."""
        if visibility not in VISIBILITIES:
            raise InvalidInput(f"visibility must be one of {list(VISIBILITIES)}")
        spell = self.owned(uow, principal, spell_id)
        require_sboms(
            uow,
            spell.id,
            self.repo.versions(uow, spell.id),
            visibility=visibility,
            settings=self.policy.supply,
        )
        spell.visibility = visibility
        uow.session.flush()
        return spell

    def set_yanked(
        self, uow: UnitOfWork, principal: Principal, spell_id: str, version: str, *, yanked: bool
    ) -> SpellVersion:
        """Yank (or restore) a version: it stays castable by exact version, never as the default."""
        spell = self.owned(uow, principal, spell_id)
        row = self.version(uow, spell, version)
        row.is_yanked = yanked
        uow.session.flush()
        return row

    def set_suspended(
        self,
        uow: UnitOfWork,
        spell_id: str,
        *,
        suspended: bool,
        reason: str | None,
        actor_id: str | None = None,
    ) -> Spell:
        """Operator action: a suspended spell is listed but refuses every cast (audited with the actor)."""
        spell = self.repo.spell(uow, spell_id)
        if spell is None:
            raise spell_not_found(spell_id)
        act_as(uow.session, actor_id)
        spell.is_suspended = suspended
        spell.suspend_reason = reason if suspended else None
        uow.session.flush()
        return spell

    def suspend(
        self, uow: UnitOfWork, principal: Principal, spell_id: str, *, suspended: bool, reason: str | None
    ) -> Spell:
        """``set_suspended`` for a caller with the ``operator`` scope (operator or admin role) or an admin
        credential, audited with them as the actor."""
        principal.require_operator()
        return self.set_suspended(
            uow, spell_id, suspended=suspended, reason=reason, actor_id=principal.user_id
        )


def published_signature(spell: Spell, version: SpellVersion) -> SignatureReport:
    """The signature outcome recorded when ``version`` was published (verified, or unsigned)."""
    if version.signer_key_id is None:
        message = f"{spell.id}@{version.version} was published unsigned"
        return SignatureReport(
            "unsigned", spell.publisher, message, digest=version.digest.removeprefix("sha256:")
        )
    return SignatureReport(
        "verified",
        spell.publisher,
        "verified at publish",
        key_id=version.signer_key_id,
        digest=version.digest.removeprefix("sha256:"),
    )


def _may_see(spell: Spell, principal: Principal) -> bool:
    return spell.visibility in ("public", "unlisted") or spell.tenant_id == principal.tenant_id


def _semver(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _check_price(manifest: SpellManifest) -> None:
    """Refuse pricing whose dearest cast (the hold every cast takes) is past ``MAX_MICROS``."""
    try:
        most = estimate_max(effective_pricing(manifest), bounds_of(manifest)).micros
    except InvalidInput as exc:  # spell-runtime's billing.max_amount, read as decimal text
        raise InvalidManifest(f"spell.yaml: {exc.message}", details=exc.details) from None
    if most > MAX_MICROS:
        raise InvalidManifest(
            f"spell.yaml: pricing: one cast could cost {most} micro-units, more than the largest amount",
            details={"estimate_micros": str(most), "max_micros": MAX_MICROS},
        )
