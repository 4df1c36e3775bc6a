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

from univers.nuget import InvalidNuGetVersion
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


def _version_class(scheme: str) -> type[Version]:
    if scheme == "semver":
        return SemverVersion
    # univers declares version_class as None on its base range class; every scheme sets one.
    return RANGE_CLASS_BY_SCHEMES[scheme].version_class  # type: ignore[return-value]


@functools.lru_cache(maxsize=65_536)
def _parse_version(scheme: str, value: str) -> Version | None:
    cls = _version_class(scheme)
    if cls is SemverVersion and value[:1] == "v" and value[1:2].isdigit():
        value = value[1:]  # Go's "v1.2.3"; OSV's SEMVER has no prefix
    try:
        return cls(value)
    except (InvalidVersion, InvalidNuGetVersion, ValueError, TypeError):
        _log.debug("%s cannot read version %r; not matched", cls.__name__, value)
        return None


def in_versions(ecosystem: str, version: str, listed: Iterable[str]) -> bool:
    """True when ``version`` is one of ``listed``, as written or as the ecosystem compares them."""
    listed = list(listed)
    if version in listed:
        return True
    scheme = _scheme(ecosystem, "ECOSYSTEM")
    if scheme is None:
        return False
    ours = _parse_version(scheme, version)
    return ours is not None and any(_same(ours, _parse_version(scheme, other)) for other in listed)


def in_range(ecosystem: str, version: str, affected_range: dict[str, Any]) -> bool:
    """True when ``version`` falls in one OSV ``ranges`` entry (never for ``GIT`` ranges)."""
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
        if bound is None or (kind == "introduced" and not ours < bound):
            vulnerable = True  # None is introduced "0", before every version
        elif (kind == "fixed" and not ours < bound) or (kind == "last_affected" and bound < ours):
            vulnerable = False
    return vulnerable


# Every comparison goes through ``<``: some univers classes override only ``<``, ``>`` and ``==``
# and inherit ``<=``/``>=`` from attrs, which compare differently (Alpine's ``1.0_rc1 >= 1.0`` is true).
def _same(ours: Version, other: Version | None) -> bool:
    return other is not None and not ours < other and not other < ours


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
        if kind == "limit" and "*" in value:
            limits.append(None)
        elif kind == "introduced" and value == "0":
            ordered.append((0, None, kind))
        elif (bound := _parse_version(scheme, value)) is None:
            return None
        elif kind == "limit":
            limits.append(bound)
        else:
            ordered.append((1, bound, kind))
    ordered.sort(key=functools.cmp_to_key(_compare_events))
    return ordered, limits


def _compare_events(a: _Event, b: _Event) -> int:
    if a[0] != b[0]:
        return a[0] - b[0]
    if a[1] is not None and b[1] is not None and not _same(a[1], b[1]):
        return -1 if a[1] < b[1] else 1
    # At one version an introduction comes first, so a fix at the same version closes it.
    return EVENT_KINDS.index(a[2]) - EVENT_KINDS.index(b[2])
