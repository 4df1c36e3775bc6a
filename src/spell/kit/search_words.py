"""The words the catalog search sees in a spell and in a query, split one way on both sides.

A word is a run of letters and digits, lower-cased; anything else separates words. SQLite's catalog
index stores a spell's words in this form (computed here, through a SQL function the engine registers
on every connection), so a query word can be tested against one spell's stored words with a plain
substring search and give the same answer as the full-text index built from the same words.
"""

from __future__ import annotations

import re

__all__ = ["SQL_FUNCTION", "indexed", "words"]

_WORD = re.compile(r"[^\W_]+")
# the SQL name of ``indexed`` on SQLite connections; the catalog's triggers call it
SQL_FUNCTION = "spell_search_words"


def words(text: str) -> list[str]:
    """The words of ``text``: lower-cased runs of letters and digits, in order, repeats kept."""
    return _WORD.findall(text.lower())


def indexed(*parts: str | None) -> str:
    """The stored form of a spell's words: each distinct word once, each preceded by one space.

    A query word ``w`` is the start of one of them exactly when `` w`` occurs in this text, since no
    word holds a space."""
    found = dict.fromkeys(words(" ".join(part for part in parts if part)))
    return "".join(f" {word}" for word in found)
