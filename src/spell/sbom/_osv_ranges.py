"""Whether a version falls in an OSV range or versions list, by the schema's evaluation algorithm
(https://ossf.github.io/osv-schema/#evaluation), with each ecosystem's ordering from ``univers``.

A range's events are replayed in version order: ``introduced`` (inclusive; ``"0"`` sorts before every
version) makes the version affected, ``fixed`` (exclusive) and ``last_affected`` (inclusive) make it
unaffected again; ``limit`` events (exclusive, ``*`` unbounded) cap the whole range. ``SEMVER`` ranges
use SemVer 2.0 precedence whatever the ecosystem; ``ECOSYSTEM`` ranges the ecosystem's own (PEP 440,
Maven, Debian, …), found through ``univers``' map from purl type to version class.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from typing import Any

from univers.version_range import RANGE_CLASS_BY_SCHEMES
from univers.versions import InvalidVersion, SemverVersion, Version

from spell.sbom.document import PURL_ECOSYSTEMS

__all__ = ["EVENT_KINDS", "in_range", "in_versions"]

_log = logging.getLogger(__name__)

EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
_PURL_TYPES = {ecosystem: purl_type for purl_type, ecosystem in PURL_ECOSYSTEMS.items()}


def _scheme(ecosystem: str, range_type: str) -> str | None:
    """The ``univers`` scheme ordering a range's versions: semver, else the ecosystem's purl type."""
    if range_type == "SEMVER":
        return "semver"
    purl_type = _PURL_TYPES.get(ecosystem)
    return purl_type if purl_type in RANGE_CLASS_BY_SCHEMES else None


@functools.lru_cache(maxsize=65_536)
def _parse_version(scheme: str, value: str) -> Version | None:
    # univers declares version_class as None on its base class; every scheme sets one.
    cls: type[Version] = SemverVersion if scheme == "semver" else RANGE_CLASS_BY_SCHEMES[scheme].version_class  # type: ignore[assignment]
    if cls is SemverVersion and value[:1] == "v" and value[1:2].isdigit():
        value = value[1:]  # Go's "v1.2.3"; OSV's SEMVER has no prefix
    try:
        return cls(value)
    except (InvalidVersion, ValueError, TypeError):
        _log.debug("%s cannot read version %r; not matched", cls.__name__, value)
        return None


def in_versions(ecosystem: str, version: str, listed: Iterable[str]) -> bool:
    listed = list(listed)
    if version in listed:
        return True
    scheme = _scheme(ecosystem, "ECOSYSTEM")
    if scheme is None:
        return False
    ours = _parse_version(scheme, version)
    return ours is not None and any(ours == _parse_version(scheme, other) for other in listed)


def in_range(ecosystem: str, version: str, affected_range: dict[str, Any]) -> bool:
    range_type = affected_range.get("type")
    if range_type == "GIT":
        return False
    scheme = _scheme(ecosystem, str(range_type))
    if scheme is None:
        _log.debug("no version ordering for %s %s ranges; not matched", ecosystem, range_type)
        return False
    ours = _parse_version(scheme, version)
    timeline = _timeline(scheme, affected_range.get("events") or ())
    if ours is None or timeline is None:
        return False
    events, limits = timeline
    if limits and not any(limit is None or ours < limit for limit in limits):
        return False
    vulnerable = False
    for _, bound, kind in events:
        if bound is None or (kind == "introduced" and ours >= bound):
            vulnerable = True  # None is introduced "0", before every version
        elif (kind == "fixed" and ours >= bound) or (kind == "last_affected" and ours > bound):
            vulnerable = False
    return vulnerable


_Event = tuple[int, Version | None, str]


def _timeline(
    scheme: str, events: Iterable[dict[str, str]]
) -> tuple[list[_Event], list[Version | None]] | None:
    """The events sorted by version (``introduced: "0"`` first) and the limits (None = ``*``), or
    None when a bound cannot be read."""
    ordered: list[_Event] = []
    limits: list[Version | None] = []
    for event in events:
        ((kind, value),) = event.items()
        if kind == "limit":
            limits.append(None if "*" in value else _parse_version(scheme, value))
            if limits[-1] is None and "*" not in value:
                return None
            continue
        if kind == "introduced" and value == "0":
            ordered.append((0, None, kind))
            continue
        bound = _parse_version(scheme, value)
        if bound is None:
            return None
        ordered.append((1, bound, kind))
    ordered.sort(key=functools.cmp_to_key(_compare_events))
    return ordered, limits


def _compare_events(a: _Event, b: _Event) -> int:
    if a[0] != b[0]:
        return a[0] - b[0]
    if a[1] is not None and b[1] is not None and a[1] != b[1]:
        return -1 if a[1] < b[1] else 1
    # At one version an introduction comes first, so a fix at the same version closes it.
    return EVENT_KINDS.index(a[2]) - EVENT_KINDS.index(b[2])
