"""Strict JSON for untrusted input: what Python's json module accepts beyond I-JSON is refused."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spell.kit.canonical_json import canonical_bytes
from spell.kit.json_input import MAX_SAFE_INTEGER, JsonInputError, check, loads


@pytest.mark.parametrize(
    ("raw", "pointer"),
    [
        (b'{"a": NaN}', ""),
        (b'{"a": [Infinity]}', ""),
        (b"-Infinity", ""),
        (b'{"a": 1e400}', "/a"),
        (b'{"a": {"b": 9007199254740992}}', "/a/b"),
        (b"[-9007199254740992]", "/0"),
        (b"1" * 5000, ""),
        (b'["ok", "\\ud800"]', "/1"),
        (b'{"\\udfff": 1}', "/\ufffd"),
        (b'"\xed\xa0\x80"', ""),  # a surrogate encoded as raw bytes
        (b"\xff", ""),
        (b"{", ""),
        (b"[" * 65 + b"]" * 65, "/0" * 64),
        (b"[" * 100_000 + b"]" * 100_000, ""),
        (b'{"a/b~": [{"c": NaN}]}', ""),
        (b'{"a/b~": "\\udc00"}', "/a~1b~0"),
        (b'{"a": ["\\u0000"]}', "/a/0"),
        (b'{"\\u0000": 1}', "/\ufffd"),
    ],
)
def test_loads_refuses_what_is_not_strict_json(raw: bytes, pointer: str) -> None:
    with pytest.raises(JsonInputError) as exc:
        loads(raw)
    assert exc.value.pointer == pointer
    assert exc.value.message


def test_loads_reads_the_edges_of_what_is_allowed() -> None:
    deepest = b"[" * 64 + b"]" * 64
    assert loads(deepest) is not None
    assert loads(b"[9007199254740991, -9007199254740991, 1.5e300]") == [
        MAX_SAFE_INTEGER,
        -MAX_SAFE_INTEGER,
        1.5e300,
    ]
    assert loads('{"é": "\U0001f525"}') == {"é": "\U0001f525"}
    assert loads(b"[1]", max_depth=1) == [1]
    with pytest.raises(JsonInputError):
        loads(b"[[1]]", max_depth=1)


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), 2**53, "\ud800", {1: "a"}, {"k": b"bytes"}, (1, 2), {"a": object()}],
)
def test_check_refuses_values_that_are_not_strict_json(value: Any) -> None:
    with pytest.raises(JsonInputError):
        check(value)


_TEXT = st.characters(codec="utf-8", exclude_characters="\x00")
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(_TEXT),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(_TEXT, max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_every_strict_value_checks_and_has_a_canonical_form(value: Any) -> None:
    check(value)
    canonical_bytes(value)
