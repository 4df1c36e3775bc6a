"""Reading a table in keyset pages: each page starts after the key of the last row of the one before.

Memory stays one page whatever the table's size, and a page costs one indexed range read however deep
it is (an ``OFFSET`` would read and throw away every row before it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

__all__ = ["keyset_pages"]

Row = TypeVar("Row")
Key = TypeVar("Key")


def keyset_pages(
    fetch: Callable[[Key], Sequence[Row]], after: Key, key: Callable[[Row], Key]
) -> Iterator[Sequence[Row]]:
    """``fetch(after)``, then ``fetch(key(last row))`` and so on, yielding each page until one is empty.

    The next key is taken before a page is handed over, so a reader may expunge or change its rows.
    """
    while page := fetch(after):
        last = key(page[-1])
        yield page
        after = last
