"""Install source: ``registry:<id>[@<version>|@latest]`` resolved through a configured index.

The entry's ``source`` must be a pinned git source. Pins required by the policy must be present;
pins that are present must match: the commit right after cloning, the digest once the installer has
computed it (``Fetched.expected_digest``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spell.bundle.registry import (
    PINNED_GIT_SOURCE,
    PINS_POLICIES,
    PinsPolicy,
    RegistryEntry,
    enforce_required_pins,
    fetch_index,
    load_registry_config,
    resolve_entry,
)
from spell.bundle.sources.base import FetchContext, Fetched
from spell.bundle.sources.git import clone, split_git_source
from spell.errors import InvalidInput, InvalidRegistry, PinMismatch

__all__ = ["RegistryRef", "fetch_registry", "parse_registry_ref", "resolve_registry_source"]

PREFIX = "registry:"


@dataclass(frozen=True)
class RegistryRef:
    """A parsed ``registry:`` locator; ``version`` None means latest."""

    id: str
    version: str | None


@dataclass(frozen=True)
class ResolvedRegistrySource:
    """What a locator resolves to: the index used and the concrete entry."""

    index_name: str
    index_url: str
    entry: RegistryEntry


def parse_registry_ref(text: str) -> RegistryRef:
    """Parse ``registry:<id>``, ``registry:<id>@latest`` or ``registry:<id>@<version>``."""
    if not text.startswith(PREFIX):
        raise InvalidInput(f"invalid registry source: {text} (expected registry:<id>@<version>)")
    body = text[len(PREFIX) :].strip()
    spell_id, sep, version = body.rpartition("@")
    if not sep:
        spell_id, version = body, ""
    spell_id, version = spell_id.strip(), version.strip()
    if not spell_id or (sep and not version):
        raise InvalidInput(
            f"invalid registry source: {text} (expected registry:<id>@<version>)", details={"source": text}
        )
    return RegistryRef(spell_id, None if version in ("", "latest") else version)


def resolve_registry_source(text: str, ctx: FetchContext) -> ResolvedRegistrySource:
    """Find the entry a locator names, with the pin policy applied (nothing is cloned)."""
    ref = parse_registry_ref(text)
    if ctx.registry_file is None:
        raise InvalidInput("registry installs need a registry config file")
    config = load_registry_config(ctx.registry_file)
    index_ref = config.index(ctx.registry_name)
    ctx.progress(f"fetching registry index {index_ref.name} ({index_ref.url})")
    index = fetch_index(index_ref.url, timeout_s=ctx.timeout_s)
    entry = resolve_entry(index, ref.id, ref.version)
    if not PINNED_GIT_SOURCE.match(entry.source.strip()):
        raise InvalidRegistry(
            f"invalid registry source for {entry.id}@{entry.version}: "
            f"expected '<git-url>#<ref>', got '{entry.source}'",
            details={"id": entry.id, "version": entry.version, "source": entry.source},
        )
    enforce_required_pins(entry, _policy(ctx.required_pins))
    return ResolvedRegistrySource(index_ref.name, index_ref.url, entry)


def fetch_registry(text: str, workdir: Path, ctx: FetchContext) -> Fetched:
    """Resolve, clone the pinned git source, and check the commit pin."""
    resolved = resolve_registry_source(text, ctx)
    entry = resolved.entry
    url, git_ref = split_git_source(entry.source.strip())
    dest = workdir / "bundle"
    commit = clone(url, git_ref, dest, ctx)
    if entry.commit and entry.commit.lower() != commit.lower():
        raise PinMismatch(
            f"registry commit mismatch: expected {entry.commit}, got {commit}",
            details={"id": entry.id, "version": entry.version, "expected": entry.commit, "actual": commit},
        )
    return Fetched(
        root=dest,
        kind="registry",
        source=text,
        ref=git_ref,
        commit=commit,
        url=url,
        registry=resolved.index_name,
        expected_digest=entry.digest,
    )


def _policy(value: str) -> PinsPolicy:
    for choice in PINS_POLICIES:
        if choice == value:
            return choice
    raise InvalidInput(
        "SPELL_REGISTRY_REQUIRED_PINS must be one of: none, commit, digest, both", details={"value": value}
    )
