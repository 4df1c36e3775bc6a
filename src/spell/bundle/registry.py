"""Registry indexes (v1, compatible with spell-runtime) and the configured list in ``registry.json``.

An index is ``{"version": "v1", "spells": [{"id", "version", "source", "commit"?, "digest"?}]}``
where ``source`` is a pinned git source (``<url>#<ref>``), ``commit`` a 40-hex SHA-1 and ``digest``
``sha256:<64 hex>``. The config is ``{"version": "v1", "indexes": [{"name", "url"}]}``; the index
named ``default`` is used unless another is asked for, and cannot be removed.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import urllib.parse
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from spell.bundle.store import version_key
from spell.errors import (
    AlreadyExists,
    FetchFailed,
    InvalidInput,
    InvalidRegistry,
    PinRequired,
    RegistryNotFound,
    SpellNotFound,
    VersionNotFound,
)

__all__ = [
    "DEFAULT_INDEX",
    "MAX_INDEX_BYTES",
    "PINNED_GIT_SOURCE",
    "PINS_POLICIES",
    "PinsPolicy",
    "RegistryConfig",
    "RegistryEntry",
    "RegistryIndex",
    "RegistryIndexRef",
    "add_index",
    "catalog_entries",
    "enforce_required_pins",
    "fetch_index",
    "load_registry_config",
    "parse_index",
    "parse_registry_config",
    "read_registry_config",
    "remove_index",
    "resolve_entry",
    "set_default_index",
]

DEFAULT_INDEX = "default"
MAX_INDEX_BYTES = 8 * 1024 * 1024
PinsPolicy = Literal["none", "commit", "digest", "both"]
PINS_POLICIES: tuple[PinsPolicy, ...] = ("none", "commit", "digest", "both")
# https/ssh/scp-style remotes as spell-runtime accepts them, plus file:// for local mirrors.
PINNED_GIT_SOURCE = re.compile(r"^(?:https://.+|ssh://.+|file://.+|git@[^:]+:.+)#.+$", re.IGNORECASE)


_M = TypeVar("_M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegistryIndexRef(_Strict):
    """A configured index: a unique name and the URL of its ``spell-index.v1.json``."""

    name: str = Field(min_length=1)
    url: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("registry index name must not be blank")
        return value.strip()

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return normalize_index_url(value)


class RegistryConfig(_Strict):
    """``$SPELL_HOME/registry.json``."""

    version: Literal["v1"]
    indexes: tuple[RegistryIndexRef, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> RegistryConfig:
        names = [i.name for i in self.indexes]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"duplicate registry index name: {name}")
        return self

    def index(self, name: str | None) -> RegistryIndexRef:
        """The index called ``name`` (``default`` when None)."""
        wanted = (name or DEFAULT_INDEX).strip()
        for ref in self.indexes:
            if ref.name == wanted:
                return ref
        raise RegistryNotFound(
            f"registry index not found: {wanted}",
            details={"name": wanted, "configured": [i.name for i in self.indexes]},
            hint="`spell registry show` lists the configured indexes",
        )


class RegistryEntry(_Strict):
    """One spell version in an index, with optional commit and digest pins."""

    id: str = Field(min_length=1)
    version: str = Field(min_length=1)
    source: str = Field(min_length=1)
    commit: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{40}$")
    digest: str | None = Field(default=None, pattern=r"^sha256:[0-9a-fA-F]{64}$")


class RegistryIndex(_Strict):
    """A registry index document (v1)."""

    version: Literal["v1"]
    spells: tuple[RegistryEntry, ...]


def normalize_index_url(raw: str) -> str:
    """Trim and check an index URL: http(s) with a host, or ``file://`` for a local mirror."""
    value = raw.strip()
    parsed = urllib.parse.urlparse(value)
    if parsed.scheme in ("http", "https") and parsed.netloc:
        return value
    if parsed.scheme == "file" and parsed.path:
        return value
    raise InvalidRegistry(
        f"invalid registry URL: {raw}", details={"url": raw}, hint="use an http(s):// or file:// URL"
    )


def parse_registry_config(raw: bytes | str, source: str) -> RegistryConfig:
    """Validate a registry config document."""
    return _validated(RegistryConfig, raw, "registry config", source)


def parse_index(raw: bytes | str, source: str) -> RegistryIndex:
    """Validate a registry index document."""
    return _validated(RegistryIndex, raw, "registry index", source)


def read_registry_config(path: Path) -> RegistryConfig | None:
    """The configured indexes, or None when ``path`` does not exist."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    return parse_registry_config(raw, str(path))


def load_registry_config(path: Path) -> RegistryConfig:
    """The configured indexes; ``RegistryNotFound`` when none are configured yet."""
    config = read_registry_config(path)
    if config is None:
        raise RegistryNotFound(
            f"registry config not found: {path}",
            details={"path": str(path)},
            hint="run `spell registry set <url>` first",
        )
    return config


def set_default_index(path: Path, url: str) -> RegistryConfig:
    """Replace the whole config with one ``default`` index."""
    config = RegistryConfig(version="v1", indexes=(RegistryIndexRef(name=DEFAULT_INDEX, url=url),))
    _write(path, config)
    return config


def add_index(path: Path, name: str, url: str) -> RegistryConfig:
    """Append a named index; ``AlreadyExists`` when the name is taken."""
    ref = RegistryIndexRef(name=_index_name(name), url=url)
    config = load_registry_config(path)
    if any(i.name == ref.name for i in config.indexes):
        raise AlreadyExists(f"registry index already exists: {ref.name}", details={"name": ref.name})
    updated = RegistryConfig(version="v1", indexes=(*config.indexes, ref))
    _write(path, updated)
    return updated


def remove_index(path: Path, name: str) -> RegistryConfig:
    """Remove a named index; the ``default`` index cannot be removed."""
    wanted = _index_name(name)
    if wanted == DEFAULT_INDEX:
        raise InvalidInput(
            "cannot remove registry index 'default'", hint="`spell registry set <url>` replaces it"
        )
    config = load_registry_config(path)
    config.index(wanted)
    updated = RegistryConfig(version="v1", indexes=tuple(i for i in config.indexes if i.name != wanted))
    _write(path, updated)
    return updated


def fetch_index(url: str, *, timeout_s: float = 30.0, max_bytes: int = MAX_INDEX_BYTES) -> RegistryIndex:
    """Download (or read, for ``file://``) and validate an index."""
    import urllib.error  # lazy: urllib.request loads http.client and ssl
    import urllib.request

    parsed = urllib.parse.urlparse(normalize_index_url(url))
    try:
        if parsed.scheme == "file":
            with open(urllib.request.url2pathname(parsed.path), "rb") as fh:
                raw = fh.read(max_bytes + 1)
        else:  # http(s), checked by normalize_index_url
            request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
            with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
                raw = response.read(max_bytes + 1)
    except urllib.error.HTTPError as exc:
        exc.close()  # the error carries the open response
        raise FetchFailed(
            f"failed to fetch registry index '{url}': HTTP {exc.code}", details={"url": url}
        ) from exc
    except (OSError, urllib.error.URLError) as exc:
        raise FetchFailed(f"failed to fetch registry index '{url}': {exc}", details={"url": url}) from exc
    if len(raw) > max_bytes:
        raise InvalidRegistry(
            f"registry index '{url}' is larger than {max_bytes} bytes",
            details={"url": url, "limit": max_bytes},
        )
    return parse_index(raw, url)


def catalog_entries(index: RegistryIndex) -> list[RegistryEntry]:
    """Every entry of ``index``: ids in order, each id's versions highest first (as ``latest`` picks)."""
    by_id: dict[str, list[RegistryEntry]] = {}
    for entry in index.spells:
        by_id.setdefault(entry.id, []).append(entry)
    ordered: list[RegistryEntry] = []
    for spell_id in sorted(by_id):
        entries = by_id[spell_id]
        semver = [e for e in entries if version_key(e.version) is not None]
        other = [e for e in entries if version_key(e.version) is None]
        semver.sort(key=lambda e: version_key(e.version) or (0, 0, 0), reverse=True)
        other.sort(key=lambda e: e.version, reverse=True)
        ordered += semver + other
    return ordered


def resolve_entry(index: RegistryIndex, spell_id: str, version: str | None) -> RegistryEntry:
    """The entry for ``spell_id@version``; None or ``latest`` picks the highest version.

    Highest means numeric x.y.z order first; versions that are not x.y.z sort below, in
    descending text order among themselves.
    """
    candidates = [e for e in index.spells if e.id == spell_id]
    if not candidates:
        raise SpellNotFound(
            f"registry entry not found: {spell_id}@{version or 'latest'}", details={"id": spell_id}
        )
    if version is None or version == "latest":
        semver = [e for e in candidates if version_key(e.version) is not None]
        if semver:
            return max(semver, key=lambda e: version_key(e.version) or (0, 0, 0))
        return max(candidates, key=lambda e: e.version)
    for entry in candidates:
        if entry.version == version:
            return entry
    raise VersionNotFound(
        f"registry entry not found: {spell_id}@{version}",
        details={"id": spell_id, "version": version, "available": sorted(e.version for e in candidates)},
    )


def enforce_required_pins(entry: RegistryEntry, policy: PinsPolicy) -> None:
    """Refuse an entry that lacks a pin the policy requires."""
    if policy in ("commit", "both") and not entry.commit:
        raise PinRequired(
            f"registry entry missing required commit pin for {entry.id}@{entry.version}",
            details={"id": entry.id, "version": entry.version, "policy": policy},
            hint="ask the registry to pin a commit, or set SPELL_REGISTRY_REQUIRED_PINS",
        )
    if policy in ("digest", "both") and not entry.digest:
        raise PinRequired(
            f"registry entry missing required digest pin for {entry.id}@{entry.version}",
            details={"id": entry.id, "version": entry.version, "policy": policy},
            hint="ask the registry to pin a digest, or set SPELL_REGISTRY_REQUIRED_PINS",
        )


def _index_name(raw: str) -> str:
    name = raw.strip()
    if not name:
        raise InvalidInput(f"invalid registry index name: {raw!r}")
    return name


def _validated(model: type[_M], raw: bytes | str, kind: str, source: str) -> _M:
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidRegistry(
            f"failed to parse {kind} JSON ({source}): {exc}", details={"source": source}
        ) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"/{'/'.join(str(p) for p in err['loc'])} {err['msg']}" for err in exc.errors(include_url=False)
        ]
        raise InvalidRegistry(
            f"{kind} validation failed: {'; '.join(problems)}", details={"source": source, "errors": problems}
        ) from None


def _write(path: Path, config: RegistryConfig) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(config.model_dump(mode="json"), indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".registry-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
