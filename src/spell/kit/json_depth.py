"""Nesting limits for JSON that comes from untrusted programs.

Everything downstream of a parsed document (the JSON column, the response serializer, canonical
hashing) recurses once per level, so a document nested past what those can take must be refused where
it is parsed, with a clear error, rather than fail later as a ``RecursionError`` somewhere else.
"""

from __future__ import annotations

from typing import Any

__all__ = ["nests_beyond", "text_nests_beyond"]

_BRACKETS_ONLY = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


def text_nests_beyond(data: bytes, max_depth: int) -> bool:
    """Whether the JSON text ``data`` nests deeper than ``max_depth``, told without parsing it.

    Each level opens a bracket, so text with at most ``max_depth`` of them is settled by counting.
    Otherwise strings are cut out and the brackets left are peeled one level per pass (every ``[]``
    left is an innermost pair), in C and before any parser recurses, however deep the text (a walk of
    the parsed value in Python costs several times the parse). Text that is not JSON may be misjudged,
    but a parser refuses it anyway.
    """
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return False
    brackets = _outside_strings(data).translate(_BRACKETS_ONLY, _NOT_BRACKETS)
    for _ in range(max_depth):
        peeled = brackets.replace(b"[]", b"")
        if not peeled or len(peeled) == len(brackets):
            return False  # all peeled within the limit (or unbalanced: not JSON)
        brackets = peeled
    # Brackets left after ``max_depth`` peels nest deeper; with a limit of 0 there may be none at all
    # (the counted ones were inside strings).
    return bool(brackets)


def _outside_strings(data: bytes) -> bytes:
    # Escapes pair up from the left, and outside strings JSON has no backslash: dropping ``\\`` pairs
    # and then ``\"`` leaves every quote a string's bound, so every other piece between quotes is out.
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    return b"".join(data.split(b'"')[::2])


def nests_beyond(value: Any, max_depth: int) -> bool:
    """Whether a parsed JSON value nests deeper than ``max_depth`` (a scalar is depth 0, ``[]`` is 1).

    Walks with its own stack, so a value of any depth is measured without recursion.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth + 1 > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
