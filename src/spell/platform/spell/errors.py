"""Grimoire errors: the spell domain's leaves of the one catalog (tree in ``spell.errors``) and their
constructors."""

from __future__ import annotations

from spell.errors import AlreadyExists, NotFound, PermissionDenied, SpellNotFound, VersionNotFound

__all__ = [
    "SbomNotFound",
    "TenantForbidden",
    "sbom_not_found",
    "spell_not_found",
    "version_exists",
    "version_not_found",
]


class TenantForbidden(PermissionDenied):
    """The resource belongs to another tenant."""

    code = "TENANT_FORBIDDEN"


class SbomNotFound(NotFound):
    """The version was published without an SBOM."""

    code = "SBOM_NOT_FOUND"


def spell_not_found(spell_id: str) -> SpellNotFound:
    """404 for unknown spells and for spells the caller may not see (no existence oracle)."""
    return SpellNotFound(f"no spell {spell_id!r}", details={"spell_id": spell_id})


def version_not_found(spell_id: str, version: str) -> VersionNotFound:
    """404 for an unknown or yanked version."""
    return VersionNotFound(
        f"spell {spell_id!r} has no version {version!r}", details={"spell_id": spell_id, "version": version}
    )


def version_exists(spell_id: str, version: str, digest: str) -> AlreadyExists:
    """409: versions are immutable."""
    return AlreadyExists(
        f"{spell_id}@{version} is already published with another digest",
        details={"spell_id": spell_id, "version": version, "digest": digest},
        hint="bump the version",
    )


def sbom_not_found(spell_id: str, version: str) -> SbomNotFound:
    """404 for a version published without an SBOM."""
    return SbomNotFound(
        f"{spell_id}@{version} was published without an SBOM",
        details={"spell_id": spell_id, "version": version},
    )
