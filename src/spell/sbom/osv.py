"""OSV advisories read offline (a directory, a zip as osv.dev publishes per ecosystem, or one file) and
matched against components: ranges compared per ecosystem by ``univers``, severity from the CVSS
vector by ``cvss``.

A component is looked up by its purl: the OSV ecosystem of the purl type, the OSV package name (the
purl namespace joined in where the ecosystem names packages with it: npm scopes, Go module paths,
Maven ``group:artifact``) and its version. Matching follows the schema's evaluation algorithm (see
``_osv_ranges``); ``GIT`` ranges need the commit graph, which an SBOM does not give, so they never
match, and a version ``univers`` cannot parse matches nothing rather than failing the whole check.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from packageurl import PackageURL

from spell.errors import InvalidInput
from spell.sbom._osv_files import MAX_MEMBER_BYTES, MAX_TOTAL_BYTES, read_records
from spell.sbom._osv_ranges import EVENT_KINDS, in_range, in_versions
from spell.sbom._osv_severity import highest_score, severity_of
from spell.sbom.document import Component

__all__ = [
    "MAX_MEMBER_BYTES",
    "MAX_TOTAL_BYTES",
    "AdvisoryRecord",
    "OsvIndex",
    "affects",
    "base_ecosystem",
    "lookup_key",
    "normalise_name",
    "parse_osv",
    "read_osv",
    "severity_of",
]

_log = logging.getLogger(__name__)

_RANGE_TYPES = ("SEMVER", "ECOSYSTEM", "GIT")
# Lengths the advisory tables hold; a longer value is not an OSV record we can keep.
_MAX_ID = 100
_MAX_ECOSYSTEM = 50
_MAX_NAME = 300
_MAX_SUMMARY = 500


@dataclass(frozen=True)
class AdvisoryRecord:
    """One OSV record, as the gate and the database keep it."""

    id: str
    aliases: tuple[str, ...]
    summary: str
    score: float | None  # the highest CVSS base score of its vectors
    vector: str | None  # the vector that score came from
    severity: str  # critical, high, medium, low, none, unknown
    affected: tuple[dict[str, Any], ...]  # OSV ``affected`` entries, as published
    published: datetime | None
    modified: datetime | None
    withdrawn: datetime | None

    @property
    def packages(self) -> tuple[tuple[str, str], ...]:
        """(ecosystem, normalised name) of every affected package, the lookup index."""
        keys: dict[tuple[str, str], None] = {}
        for entry in self.affected:
            if entry.get("package") is None:
                continue
            ecosystem = base_ecosystem(entry["package"]["ecosystem"])
            keys[ecosystem, normalise_name(ecosystem, entry["package"]["name"])] = None
        return tuple(keys)


class _Record:
    """Where a record came from, for error messages that let an operator find it."""

    def __init__(self, record_id: str | None, source: str | None) -> None:
        self.id = record_id
        self.source = source

    def error(self, problem: str, field: str | None = None) -> InvalidInput:
        where = f"OSV record {self.id or '(without id)'}"
        if self.source:
            where += f" in {self.source}"
        details: dict[str, Any] = {"id": self.id, "file": self.source}
        if field:
            details["field"] = field
            problem = f"{field}: {problem}"
        return InvalidInput(f"{where}: {problem}", details=details)


def parse_osv(record: dict[str, Any], *, source: str | None = None) -> AdvisoryRecord:
    """Read one OSV JSON object; ``InvalidInput`` naming the record (and ``source``) when malformed."""
    if not isinstance(record, dict):
        raise _Record(None, source).error("not a JSON object")
    raw_id = record.get("id")
    where = _Record(raw_id if isinstance(raw_id, str) else None, source)
    if not isinstance(raw_id, str) or not raw_id.strip() or len(raw_id) > _MAX_ID:
        raise where.error(f"needs an id of 1 to {_MAX_ID} characters", "id")
    affected = tuple(
        _affected(entry, f"affected[{i}]", where) for i, entry in enumerate(_list(record, "affected", where))
    )
    severities = [(f"severity[{j}]", entry) for j, entry in enumerate(_list(record, "severity", where))]
    for i, entry in enumerate(affected):
        prefix = f"affected[{i}]."
        severities += [
            (f"{prefix}severity[{j}]", s) for j, s in enumerate(_list(entry, "severity", where, prefix))
        ]
    scored = highest_score(severities, where.error)
    return AdvisoryRecord(
        id=raw_id,
        aliases=tuple(_strings(record, "aliases", where)),
        summary=_summary(record, where),
        score=scored[0] if scored else None,
        vector=scored[1] if scored else None,
        severity=severity_of(scored[0] if scored else None),
        affected=affected,
        published=_timestamp(record, "published", where),
        modified=_timestamp(record, "modified", where),
        withdrawn=_timestamp(record, "withdrawn", where),
    )


def read_osv(
    path: Path, *, max_member_bytes: int = MAX_MEMBER_BYTES, max_total_bytes: int = MAX_TOTAL_BYTES
) -> Iterator[AdvisoryRecord]:
    """Every record under ``path``: a directory (recursively ``*.json``), a ``.zip`` or a single file.

    A generator, so an import can report progress; ``InvalidInput`` names the first bad file or
    record, ``UnsafeArchive`` a zip member that is too large or named outside the archive.
    """
    for source, record in read_records(
        path, max_member_bytes=max_member_bytes, max_total_bytes=max_total_bytes
    ):
        yield parse_osv(record, source=source)


def base_ecosystem(ecosystem: str) -> str:
    """The ecosystem without its release or repository suffix (``Debian:12`` -> ``Debian``).

    A purl names no distribution release, so a record scoped to one matches the package in all.
    """
    return ecosystem.split(":", 1)[0]


_PEP503_SEPARATORS = re.compile(r"[-_.]+")
# Ecosystems whose registries treat names case-insensitively; everything else (crates.io, Go, Maven,
# RubyGems, …) compares names exactly as published.
_CASE_INSENSITIVE = frozenset({"npm", "NuGet", "Packagist", "Hex", "Pub"})


def normalise_name(ecosystem: str, name: str) -> str:
    """A package name as the ecosystem compares them (PyPI: PEP 503; others as given)."""
    ecosystem = base_ecosystem(ecosystem)
    if ecosystem == "PyPI":
        return _PEP503_SEPARATORS.sub("-", name).lower()
    if ecosystem in _CASE_INSENSITIVE:
        return name.lower()
    return name


def affects(advisory: AdvisoryRecord | Sequence[dict[str, Any]], component: Component) -> bool:
    """True when the component's ecosystem, name and version fall in one of the affected ranges or
    listed versions (withdrawn advisories affect nothing)."""
    if isinstance(advisory, AdvisoryRecord):
        if advisory.withdrawn is not None:
            return False
        entries: Sequence[dict[str, Any]] = advisory.affected
    else:
        entries = advisory
    package = _package_of(component)
    if package is None:
        return False
    ecosystem, name, version = package
    for entry in entries:
        affected_package = entry.get("package") or {}
        if base_ecosystem(str(affected_package.get("ecosystem", ""))) != ecosystem:
            continue
        if normalise_name(ecosystem, str(affected_package.get("name", ""))) != name:
            continue
        if in_versions(ecosystem, version, entry.get("versions") or ()):
            return True
        if any(in_range(ecosystem, version, r) for r in entry.get("ranges") or ()):
            return True
    return False


def lookup_key(component: Component) -> tuple[str, str] | None:
    """(ecosystem, normalised name) to look the component's advisories up by, as ``packages`` keys
    them; None when it has no purl of a known ecosystem."""
    package = _package_of(component)
    return (package[0], package[1]) if package is not None else None


class OsvIndex:
    """Records in memory, looked up by component: the gate's ``advisories`` for local checks."""

    def __init__(self, records: Iterable[AdvisoryRecord]) -> None:
        # A record read twice (two files, a re-import) counts once, as its last reading.
        by_id = {record.id: record for record in records}
        self._by_package: dict[tuple[str, str], list[AdvisoryRecord]] = {}
        for record in by_id.values():
            for key in record.packages:
                self._by_package.setdefault(key, []).append(record)
        self.records = tuple(by_id.values())  # every record once, withdrawn ones included

    def __len__(self) -> int:
        return len(self.records)

    def __call__(self, component: Component) -> list[AdvisoryRecord]:
        key = lookup_key(component)
        if key is None:
            return []
        candidates = self._by_package.get(key, [])
        return [record for record in candidates if affects(record, component)]


# --- matching ------------------------------------------------------------------------------------

# purl types whose OSV package name keeps the purl namespace (npm scopes, Go module paths, …).
_NAMESPACED = {"npm": "/", "golang": "/", "composer": "/", "github": "/", "swift": "/", "maven": ":"}


def _package_of(component: Component) -> tuple[str, str, str] | None:
    """(ecosystem, normalised OSV name, version) of a component, or None when it cannot be matched."""
    ecosystem = component.ecosystem
    if ecosystem is None or component.purl is None:
        return None
    try:
        purl = PackageURL.from_string(component.purl)
    except ValueError:
        _log.debug("component %s has an unreadable purl; not matched", component.key)
        return None
    name = purl.name
    separator = _NAMESPACED.get(purl.type)
    if separator and purl.namespace:
        name = f"{purl.namespace}{separator}{purl.name}"
    version = component.version or purl.version
    if not version:
        return None
    return ecosystem, normalise_name(ecosystem, name), version


# --- parsing -------------------------------------------------------------------------------------


def _list(container: dict[str, Any], key: str, where: _Record, prefix: str = "") -> list[Any]:
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise where.error("must be a list", prefix + key)
    return value


def _strings(container: dict[str, Any], key: str, where: _Record, prefix: str = "") -> list[str]:
    values = _list(container, key, where, prefix)
    if not all(isinstance(value, str) for value in values):
        raise where.error("must be a list of strings", prefix + key)
    return values


def _summary(record: dict[str, Any], where: _Record) -> str:
    for key in ("summary", "details"):
        value = record.get(key)
        if value is not None and not isinstance(value, str):
            raise where.error("must be a string", key)
    text = (record.get("summary") or record.get("details") or "").strip()
    first_line = text.splitlines()[0] if text else ""
    return first_line[:_MAX_SUMMARY]


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _timestamp(record: dict[str, Any], key: str, where: _Record) -> datetime | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise where.error("must be an RFC 3339 timestamp", key)
    try:
        # Some databases publish nanoseconds; datetime keeps microseconds.
        parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", value))
    except ValueError:
        raise where.error(f"{value!r} is not an RFC 3339 timestamp", key) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _affected(entry: Any, field: str, where: _Record) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise where.error("must be an object", field)
    # Without a package the entry names a repository by its GIT ranges only (osv.dev's CVE records):
    # valid, but no purl can match it.
    if entry.get("package") is not None:
        _check_package(entry["package"], f"{field}.package", where)
    _strings(entry, "versions", where, f"{field}.")
    for i, affected_range in enumerate(_list(entry, "ranges", where, f"{field}.")):
        _check_range(affected_range, f"{field}.ranges[{i}]", where)
    return entry


def _check_package(package: Any, field: str, where: _Record) -> None:
    if not isinstance(package, dict):
        raise where.error("must be an object", field)
    for key, limit in (("ecosystem", _MAX_ECOSYSTEM), ("name", _MAX_NAME)):
        value = package.get(key)
        if not isinstance(value, str) or not value or len(value) > limit:
            raise where.error(f"needs a string of 1 to {limit} characters", f"{field}.{key}")


def _check_range(affected_range: Any, field: str, where: _Record) -> None:
    if not isinstance(affected_range, dict):
        raise where.error("must be an object", field)
    if affected_range.get("type") not in _RANGE_TYPES:
        raise where.error(f"type must be one of {', '.join(_RANGE_TYPES)}", f"{field}.type")
    events = _list(affected_range, "events", where, f"{field}.")
    for j, event in enumerate(events):
        if (
            not isinstance(event, dict)
            or len(event) != 1
            or next(iter(event)) not in EVENT_KINDS
            or not isinstance(next(iter(event.values())), str)
            or not next(iter(event.values()))
        ):
            raise where.error(
                f"must be one of {', '.join(EVENT_KINDS)} with a version", f"{field}.events[{j}]"
            )
    if not any("introduced" in event for event in events):
        raise where.error("needs an introduced event", f"{field}.events")
