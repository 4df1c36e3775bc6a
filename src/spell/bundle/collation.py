"""File ordering compatible with spell-runtime: ICU root collation, not byte order.

spell-runtime sorts bundle paths with JavaScript's ``localeCompare`` (ICU, CLDR root order, default
strength). For ASCII that order is: control characters ignored; whitespace, punctuation and symbols
first, in ICU's own order (``_`` before ``-`` before ``.``); then digits; then letters compared without
case; and only when two paths are otherwise equal, lowercase before uppercase at the first difference.
The table below was read from ICU once and is checked against PyICU by the test suite, so ASCII names
need no ICU at run time. Other names need PyICU (the ``icu`` extra).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from spell.errors import InvalidBundle

__all__ = ["sort_paths"]

# Characters with a primary weight, lowest first, as ICU's root collation orders them.
_PRIMARY_ORDER = (
    "\t\n\x0b\x0c\r _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789"
    "aAbBcCdDeEfFgGhHiIjJkKlLmMnNoOpPqQrRsStTuUvVwWxXyYzZ"
)


def _primary_table() -> dict[str, int]:
    table: dict[str, int] = {}
    weight = 0
    for char in _PRIMARY_ORDER:
        # An upper-case letter shares its lower-case letter's primary weight.
        if not char.isupper():
            weight += 1
        table[char] = weight
    return table


_PRIMARY = _primary_table()


def sort_paths(paths: Iterable[str]) -> list[str]:
    """Sort relative paths (or any names) in spell-runtime's order.

    All-ASCII inputs use the built-in table; as soon as one path is not ASCII every path is ordered
    by ICU itself, so the two kinds of key never meet. Texts ICU considers equal (they differ only
    in ignorable control characters) are ordered by code point, so the order is total and repeatable.
    """
    items = list(paths)
    if all(p.isascii() for p in items):
        return sorted(items, key=_ascii_key)
    return sorted(items, key=lambda p: (_icu_sort_key(p), p))


def _ascii_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    weighted = [c for c in text if c in _PRIMARY]
    primary = tuple(_PRIMARY[c] for c in weighted)
    tertiary = tuple(1 if c.isupper() else 0 for c in weighted)
    return primary, tertiary, text


def _icu_sort_key(text: str) -> bytes:
    collator = _icu_collator()
    key: bytes = collator.getSortKey(text)
    return key


@cache
def _icu_collator() -> Any:
    try:
        import icu
    except ImportError as exc:
        raise InvalidBundle(
            "bundle file names outside ASCII need ICU to be ordered like spell-runtime",
            hint="install the icu extra: pip install 'spell-platform[icu]'",
        ) from exc
    return icu.Collator.createInstance(icu.Locale.getRoot())
