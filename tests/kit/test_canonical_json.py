"""The fast path of canonical JSON writes exactly what the RFC 8785 serializer writes."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from spell.kit.canonical_json import _plain, canonical_bytes, canonical_sha256

_keys = st.one_of(st.text(max_size=8), st.text(alphabet=st.characters(codec="ascii"), max_size=8))
_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=20),  # control characters and DEL
)
_values = st.recursive(
    _leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_values)
def test_every_value_serialises_as_rfc_8785_does(value: Any) -> None:
    assert canonical_bytes(value) == bytes(rfc8785.dumps(value))


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        ({"a": 1, "b": "x", "c": [True, None]}, True),
        ({"f": 1.5}, False),  # floats: RFC 8785 formats numbers its own way
        ({"big": 2**53}, False),
        ({"é": 1}, False),  # non-ASCII keys sort by UTF-16 units there
        ({1: "x"}, False),
    ],
)
def test_only_values_whose_bytes_are_the_same_take_the_fast_path(value: Any, plain: bool) -> None:
    assert _plain(value) is plain


def test_floats_and_non_ascii_keys_still_serialise_canonically() -> None:
    assert canonical_bytes({"b": 1.0, "a": 1e21, "é": "\u2028"}) == bytes(
        rfc8785.dumps({"b": 1.0, "a": 1e21, "é": "\u2028"})
    )
    assert canonical_bytes({"b": 1.0}) == b'{"b":1}'


def test_a_lone_surrogate_is_refused_as_before() -> None:
    with pytest.raises(Exception) as fast:  # noqa: PT011 - whatever the serializer raises
        canonical_sha256({"s": "\ud800"})
    with pytest.raises(type(fast.value)):
        rfc8785.dumps({"s": "\ud800"})
