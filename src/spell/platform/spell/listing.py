"""The catalog's keyset cursors and full-text queries.

A cursor holds the listing order it was issued for and the sort key and id of the last spell shown, so
the next page starts right after it in the order's index instead of counting past every earlier row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from spell.errors import InvalidInput
from spell.kit.encoding import b64url_decode, b64url_encode
from spell.kit.search_words import words
from spell.models import Spell

__all__ = [
    "COMMON_MATCHES",
    "SORTS",
    "After",
    "decode_cursor",
    "encode_cursor",
    "words",
]

# the sort key of each order; every order breaks ties by id, ascending
SORTS = ("recent", "popular", "price")

# A word search either walks the order's index testing each spell for the words, which reads about
# page x (catalog / matches) rows, or reads every match from the full-text index and sorts them, which
# costs about one row per match; the walk wins for common words, the sort for rare ones.
# SQLite counts FTS5 matches up to this many (cheap: no spell row is read) and walks above it. The
# crossover, measured at 100 000 spells, lies between about 1 000 and 2 000 matches. (PostgreSQL's
# planner chooses by itself, from its statistics of each word: spell.models.spell_search.)
COMMON_MATCHES = 1_000


@dataclass(frozen=True)
class After:
    """Where a page starts: after the spell ``spell_id`` whose sort key is ``key``, in ``sort`` order."""

    sort: str
    key: datetime | int
    spell_id: str


def sort_key(spell: Spell, sort: str) -> datetime | int:
    """The value ``sort`` orders ``spell`` by."""
    if sort == "recent":
        return spell.updated_at
    return spell.cast_count if sort == "popular" else spell.price_amount


def encode_cursor(spell: Spell, sort: str) -> str:
    """The cursor of the page after ``spell`` (the last one shown)."""
    key = sort_key(spell, sort)
    value: Any = key.isoformat() if isinstance(key, datetime) else key
    return b64url_encode(json.dumps([sort, value, spell.id], separators=(",", ":")).encode())


def decode_cursor(cursor: str) -> After:
    """The place a cursor points at; anything this server did not issue is a validation error."""
    try:
        sort, value, spell_id = json.loads(b64url_decode(cursor).decode("utf-8"))
        if sort not in SORTS or not isinstance(spell_id, str) or len(spell_id) > 200 or "\x00" in spell_id:
            raise ValueError(sort)
        if sort == "recent":
            when = datetime.fromisoformat(value)
            if when.tzinfo is None:
                raise ValueError(value)
            key: datetime | int = when
        elif isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
            key = value
        else:
            raise ValueError(value)
    except (ValueError, TypeError, UnicodeDecodeError):
        raise InvalidInput("cursor is not one this server issued", details={"cursor": cursor}) from None
    return After(sort=sort, key=key, spell_id=spell_id)
