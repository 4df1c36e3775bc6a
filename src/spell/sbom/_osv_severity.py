"""An OSV record's severity: the highest CVSS base score of its vectors, computed by ``cvss``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from cvss import CVSS2, CVSS3, CVSS4  # type: ignore[import-untyped]
from cvss.exceptions import CVSSError  # type: ignore[import-untyped]

__all__ = ["highest_score", "severity_of"]

_CALCULATORS: dict[str, Callable[[str], Any]] = {"CVSS_V2": CVSS2, "CVSS_V3": CVSS3, "CVSS_V4": CVSS4}


def severity_of(score: float | None) -> str:
    """The CVSS qualitative rating of ``score`` (``unknown`` for None).

    The CVSS v3/v4 scale for every version, so a v2 score of 9.0 rates critical like a v3 one.
    """
    if score is None:
        return "unknown"
    if score == 0:
        return "none"
    if score < 4.0:
        return "low"
    if score < 7.0:
        return "medium"
    if score < 9.0:
        return "high"
    return "critical"


def highest_score(
    severities: Iterable[tuple[str, Any]], error: Callable[[str, str], Exception]
) -> tuple[float, str] | None:
    """(base score, vector) of the highest-scoring CVSS entry, or None when there is none.

    ``severities`` pairs each OSV ``severity`` entry with its field path, for ``error``.
    Entries of other types (``Ubuntu`` priorities) carry no score and are passed over; a CVSS entry
    whose vector does not compute refuses the record, since guessing could hide a critical one.
    """
    best: tuple[float, str] | None = None
    for field, entry in severities:
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            raise error("needs a type and a score", field)
        calculator = _CALCULATORS.get(entry["type"])
        if calculator is None:
            continue
        vector = entry.get("score")
        if not isinstance(vector, str):
            raise error("needs a CVSS vector as its score", f"{field}.score")
        try:
            score = float(calculator(vector).base_score)
        except CVSSError as exc:
            raise error(f"{vector!r} is not a {entry['type']} vector ({exc})", f"{field}.score") from None
        if best is None or score > best[0]:
            best = (score, vector)
    return best
