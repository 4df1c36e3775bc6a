"""Nesting limits for JSON that comes from untrusted programs.

Everything downstream of a parsed document (the JSON column, the response serializer, canonical
hashing) recurses once per level, so a document nested past what those can take must be refused where
it is parsed, with a clear error, rather than fail later as a ``RecursionError`` somewhere else.
"""

from __future__ import annotations

from typing import Any

__all__ = ["may_nest_beyond", "nests_beyond"]


def may_nest_beyond(data: bytes, max_depth: int) -> bool:
    """Whether ``data`` could hold JSON nested deeper than ``max_depth``.

    Each level opens a bracket, so fewer opening brackets than ``max_depth + 1`` settle it without
    parsing (brackets inside strings only make the answer cautious). Counting runs in C, so the exact
    check (``nests_beyond``) is left to the rare document with that many brackets.
    """
    return data.count(b"[") + data.count(b"{") > max_depth


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
