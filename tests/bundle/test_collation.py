from __future__ import annotations

import itertools
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spell.bundle import collation
from spell.bundle.collation import sort_paths
from spell.errors import InvalidBundle
from tests.bundle.factories import compat_expected

_ASCII = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=12)
_PATHS = st.lists(st.builds(lambda a, b: f"steps/{a}/{b}" if a else b, _ASCII, _ASCII), max_size=20)


def test_compat_vector_order_is_reproduced_from_any_starting_order() -> None:
    expected = compat_expected()["digest_order"]
    assert sort_paths(reversed(expected)) == expected
    assert sort_paths(sorted(expected)) == expected


def test_underscore_sorts_before_hyphen_and_dot() -> None:
    assert sort_paths(["a.txt", "a-b", "a_b"]) == ["a_b", "a-b", "a.txt"]


def test_case_is_ignored_first_and_lowercase_wins_ties() -> None:
    assert sort_paths(["B", "a", "A", "b", "Ab", "aB"]) == ["a", "A", "aB", "Ab", "b", "B"]


def test_digits_sort_as_text_before_letters() -> None:
    assert sort_paths(["a", "9", "10"]) == ["10", "9", "a"]


def test_names_equal_to_icu_are_ordered_by_code_point() -> None:
    assert sort_paths(["a\x01b", "ab", "a\x02b"]) == ["a\x01b", "a\x02b", "ab"]


@settings(max_examples=400, deadline=None, database=None)
@given(_PATHS)
def test_ascii_order_matches_pyicu_root_collation(paths: list[str]) -> None:
    icu = pytest.importorskip("icu")
    collator = icu.Collator.createInstance(icu.Locale.getRoot())
    ours = sort_paths(paths)
    for left, right in itertools.pairwise(ours):
        assert collator.compare(left, right) <= 0, (left, right)


def test_every_two_character_ascii_name_is_ordered_as_pyicu_orders_it() -> None:
    icu = pytest.importorskip("icu")
    collator = icu.Collator.createInstance(icu.Locale.getRoot())
    names = [chr(a) + chr(b) for a in range(128) for b in range(128)]
    ours = sort_paths(names)
    assert all(collator.compare(x, y) <= 0 for x, y in itertools.pairwise(ours))


def test_non_ascii_names_are_ordered_by_icu_when_installed() -> None:
    pytest.importorskip("icu")
    assert sort_paths(["z", "é", "e", "f"]) == ["e", "é", "f", "z"]


def test_non_ascii_names_without_icu_raise_invalid_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "icu", None)
    collation._icu_collator.cache_clear()
    try:
        with pytest.raises(InvalidBundle) as caught:
            sort_paths(["é", "e"])
        assert caught.value.code == "INVALID_BUNDLE"
        assert caught.value.hint is not None
    finally:
        collation._icu_collator.cache_clear()
