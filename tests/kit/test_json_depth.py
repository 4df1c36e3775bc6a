from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from spell.kit.json_depth import nests_beyond, text_nests_beyond


def _nested(depth: int) -> object:
    value: object = 0
    for _ in range(depth):
        value = [value] if depth % 2 else {"k": value}
    return value


def test_depth_counts_containers_not_scalars() -> None:
    assert not nests_beyond(0, 0)
    assert nests_beyond([], 0)
    assert not nests_beyond([], 1)
    assert not nests_beyond({"a": [1, {"b": 2}]}, 3)
    assert nests_beyond({"a": [1, {"b": {}}]}, 3)


def test_a_value_far_deeper_than_the_stack_is_measured_without_recursion() -> None:
    assert nests_beyond(_nested(100_000), 128)
    assert not nests_beyond(_nested(128), 128)
    assert nests_beyond(_nested(129), 128)


def test_wide_values_are_not_deep() -> None:
    wide = [[{"k": [i]}] for i in range(10_000)]
    assert not nests_beyond(wide, 4)
    assert nests_beyond(wide, 3)
    assert not text_nests_beyond(json.dumps(wide).encode(), 4)
    assert text_nests_beyond(json.dumps(wide).encode(), 3)


def test_text_far_deeper_than_the_stack_is_measured_without_parsing() -> None:
    assert text_nests_beyond(b"[" * 100_000 + b"]" * 100_000, 128)
    assert text_nests_beyond(b"[" * 129 + b"]" * 129, 128)
    assert not text_nests_beyond(b"[" * 128 + b"]" * 128, 128)
    assert not text_nests_beyond(b"[" * 100_000, 128)  # unbalanced: not JSON, left to the parser


def test_brackets_inside_strings_do_not_count() -> None:
    tricky = ["[" * 300, '\\"[[[[', {"{{{{": '}}}]]]\\"' + "[" * 200}]
    assert not text_nests_beyond(json.dumps(tricky).encode(), 2)
    assert text_nests_beyond(json.dumps(tricky).encode(), 1)


_tricky_text = st.text(alphabet='[]{}"\\ab\n')  # brackets, quotes and escapes inside strings
_json: Any = st.recursive(
    st.none() | st.booleans() | st.integers() | _tricky_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_tricky_text, children, max_size=4),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(value=_json, limit=st.integers(min_value=0, max_value=8))
def test_the_text_check_agrees_with_the_walk(value: Any, limit: int) -> None:
    for text in (json.dumps(value), json.dumps(value, indent=1, ensure_ascii=False)):
        assert text_nests_beyond(text.encode(), limit) == nests_beyond(value, limit)
