"""``keyset_pages``: each page is read after the key of the one before, until an empty page."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from spell.storage.keyset import keyset_pages

ROWS = [(seq, f"row {seq}") for seq in (2, 3, 5, 7, 11, 13, 17)]


class Table:
    """Rows ordered by their first field, read ``limit`` at a time; every ``after`` asked is kept."""

    def __init__(self, rows: list[tuple[int, str]], limit: int) -> None:
        self.rows, self.limit = rows, limit
        self.asked: list[int] = []

    def fetch(self, after: int) -> Sequence[tuple[int, str]]:
        self.asked.append(after)
        return [row for row in self.rows if row[0] > after][: self.limit]


@pytest.mark.parametrize("limit", [1, 3, 7, 10])
def test_every_row_comes_once_in_order_and_each_page_starts_after_the_last_key(limit: int) -> None:
    table = Table(ROWS, limit)
    pages = list(keyset_pages(table.fetch, 0, lambda row: row[0]))
    assert [row for page in pages for row in page] == ROWS
    assert all(0 < len(page) <= limit for page in pages)
    # One read per page and the empty one that ends it, each after the previous page's last key.
    assert table.asked == [0, *(page[-1][0] for page in pages)]


def test_an_empty_table_is_read_once_and_yields_nothing() -> None:
    table = Table([], 5)
    assert list(keyset_pages(table.fetch, 0, lambda row: row[0])) == []
    assert table.asked == [0]


def test_the_start_key_is_the_first_after() -> None:
    table = Table(ROWS, 2)
    rows = [row for page in keyset_pages(table.fetch, 5, lambda row: row[0]) for row in page]
    assert rows == ROWS[3:]
    assert table.asked[0] == 5


def test_the_next_key_is_taken_before_the_reader_changes_the_page() -> None:
    table = Table(ROWS, 3)
    seen: list[int] = []
    for page in keyset_pages(table.fetch, 0, lambda row: row[0]):
        seen.extend(seq for seq, _ in page)
        assert isinstance(page, list)
        page.clear()  # a reader letting its rows go (as the export expunges them)
    assert seen == [seq for seq, _ in ROWS]


def test_pages_are_read_lazily() -> None:
    table = Table(ROWS, 2)
    pages = keyset_pages(table.fetch, 0, lambda row: row[0])
    assert table.asked == []
    assert next(pages) == ROWS[:2]
    assert table.asked == [0]
