"""Deny-by-default WASI capabilities from ``runtime.policy``: files, scratch space, environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from spell.bundle.manifest import Capabilities

__all__ = ["CapabilityError", "Grants", "plan_grants"]

RESOURCES = "resources"


class CapabilityError(Exception):
    """The manifest declares a capability the runtime will not grant (a policy violation)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Grants:
    """What one cast gets: read-only dirs, writable scratch dirs (guest path → host path), env."""

    read_only: dict[str, Path] = field(default_factory=dict)
    writable: dict[str, Path] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


def plan_grants(
    policy: Capabilities, *, bundle_dir: Path, scratch: Path | None, env: dict[str, str]
) -> Grants:
    """Turn the manifest's policy into concrete grants, refusing anything outside the rules.

    ``fs_read`` may name only ``resources/`` (or paths under it, which grant the whole folder
    read-only at ``/resources``). Each ``fs_write`` entry is a plain folder name that becomes a
    fresh folder of the cast's scratch space, mounted at ``/<name>``. Only the variables listed in
    ``env_vars`` are passed, and only when the caster supplied them.
    """
    read_only: dict[str, Path] = {}
    for entry in policy.fs_read:
        parts = _relative_parts(entry, "fs_read")
        if parts[0] != RESOURCES:
            raise CapabilityError(
                "fs_read_outside_resources", f"fs_read may only name resources/, got {entry!r}"
            )
        folder = bundle_dir / RESOURCES
        if not folder.is_dir():
            raise CapabilityError(
                "fs_read_missing", "fs_read names resources/ but the bundle has no resources/"
            )
        read_only["/" + RESOURCES] = folder
    writable: dict[str, Path] = {}
    for entry in policy.fs_write:
        parts = _relative_parts(entry, "fs_write")
        if len(parts) != 1 or parts[0] == RESOURCES:
            raise CapabilityError(
                "fs_write_bad_path", f"fs_write entries are plain folder names, got {entry!r}"
            )
        if scratch is None:
            raise CapabilityError("fs_write_unavailable", "no scratch directory for this cast")
        folder = scratch / parts[0]
        folder.mkdir(parents=True, exist_ok=True)
        writable["/" + parts[0]] = folder
    passed = {name: env[name] for name in policy.env_vars if name in env}
    return Grants(read_only=read_only, writable=writable, env=passed)


def _relative_parts(entry: str, field_name: str) -> tuple[str, ...]:
    path = PurePosixPath(entry.strip())
    parts = tuple(p for p in path.parts if p not in ("", "."))
    if path.is_absolute() or not parts or ".." in parts:
        raise CapabilityError(
            f"{field_name}_bad_path", f"{field_name} entry {entry!r} must be a relative path"
        )
    return parts
