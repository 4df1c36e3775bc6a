"""OSV advisories read offline (a directory, a zip as osv.dev publishes per ecosystem, or one file) and
matched against components: ranges compared per ecosystem by ``univers``, severity from the CVSS
vector by ``cvss``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from spell.sbom.document import Component

__all__ = ["AdvisoryRecord", "OsvIndex", "affects", "normalise_name", "parse_osv", "read_osv", "severity_of"]


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
        raise NotImplementedError


def parse_osv(record: dict[str, Any]) -> AdvisoryRecord:
    """Read one OSV JSON object; ``InvalidInput`` naming the record when it is malformed."""
    raise NotImplementedError


def read_osv(path: Path) -> Iterator[AdvisoryRecord]:
    """Every record under ``path``: a directory (recursively ``*.json``), a ``.zip`` or a single file."""
    raise NotImplementedError


def normalise_name(ecosystem: str, name: str) -> str:
    """A package name as the ecosystem compares them (PyPI: PEP 503; others as given)."""
    raise NotImplementedError


def severity_of(score: float | None) -> str:
    """The CVSS qualitative rating of ``score`` (``unknown`` for None)."""
    raise NotImplementedError


def affects(advisory: AdvisoryRecord | Sequence[dict[str, Any]], component: Component) -> bool:
    """True when the component's ecosystem, name and version fall in one of the affected ranges or
    listed versions (withdrawn advisories affect nothing)."""
    raise NotImplementedError


class OsvIndex:
    """Records in memory, looked up by component: the gate's ``advisories`` for local checks."""

    def __init__(self, records: Iterable[AdvisoryRecord]) -> None:
        raise NotImplementedError

    def __call__(self, component: Component) -> list[AdvisoryRecord]:
        raise NotImplementedError
