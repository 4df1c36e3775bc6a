"""Grimoire errors: the spell domain's leaves of the one catalog (tree in ``spell.errors``) and their
constructors."""

from __future__ import annotations

from spell.errors import AlreadyExists, PermissionDenied, SpellNotFound, VersionNotFound

__all__ = ["TenantForbidden", "spell_not_found", "version_exists", "version_not_found"]


class TenantForbidden(PermissionDenied):
    """The resource belongs to another tenant."""

    code = "TENANT_FORBIDDEN"


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
