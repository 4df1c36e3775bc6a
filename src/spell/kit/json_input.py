"""Strict JSON for untrusted input: I-JSON (RFC 7493) with a nesting limit.

Python's ``json`` accepts more than JSON: ``NaN`` and ``Infinity`` tokens, lone surrogates
(``"\\ud800"``), integers of any size, and nesting as deep as the interpreter's stack. Each of those
breaks something further in (canonical digests, UTF-8 columns, recursive validators), so input from
outside is held to what every JSON reader and the canonical form (RFC 8785) agree on:

- numbers are finite, and integers lie within ±(2^53 - 1) (exact in every reader);
- strings and member names are Unicode scalar values (no lone surrogates) without U+0000, which
  PostgreSQL text and jsonb cannot store;
- arrays and objects nest at most ``max_depth`` levels.

``loads`` parses and checks text; ``check`` checks a value that was parsed elsewhere. Both raise
``JsonInputError`` (a ``ValueError``) that names the offending place as a JSON Pointer.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["DEFAULT_MAX_DEPTH", "MAX_SAFE_INTEGER", "JsonInputError", "check", "loads"]

MAX_SAFE_INTEGER = 2**53 - 1
DEFAULT_MAX_DEPTH = 64
# The longest integer literal within ±(2^53 - 1): anything longer is refused before int() reads it.
_MAX_INT_DIGITS = len(str(-MAX_SAFE_INTEGER))


class JsonInputError(ValueError):
    """Input that is not strict JSON; ``pointer`` is where (``""`` for the whole document)."""

    def __init__(self, message: str, pointer: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.pointer = pointer


def _refuse_constant(token: str) -> Any:
    raise JsonInputError(f"{token} is not a JSON number")


def _parse_int(text: str) -> int:
    if len(text) > _MAX_INT_DIGITS:
        raise JsonInputError(f"integer {text[:20]}… is outside ±(2^53 - 1)")
    return int(text)


def loads(raw: bytes | str, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Parse ``raw`` as strict JSON (see the module docstring)."""
    try:
        value = json.loads(raw, parse_constant=_refuse_constant, parse_int=_parse_int)
    except JsonInputError:
        raise
    except json.JSONDecodeError as exc:
        raise JsonInputError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except UnicodeDecodeError:
        raise JsonInputError("not valid JSON: the text is not UTF-8") from None
    except RecursionError:
        raise JsonInputError(f"JSON nested deeper than {max_depth} levels") from None
    check(value, max_depth=max_depth)
    return value


def check(value: Any, *, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
    """Raise ``JsonInputError`` unless ``value`` is strict JSON data nested at most ``max_depth`` levels."""
    # The quick pass keeps no paths; only a refused value is walked again to say where.
    if not _acceptable(value, max_depth):
        _locate(value, max_depth)
        raise JsonInputError("the value is not strict JSON")  # pragma: no cover - _locate raised


def _acceptable(value: Any, max_depth: int) -> bool:
    kind = type(value)
    if kind is not dict and kind is not list:
        return _scalar_ok(value, kind)
    # Iterative, so a value nested past the interpreter's stack is refused rather than crashing here.
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        container, depth = stack.pop()
        if depth >= max_depth:
            return False
        if type(container) is dict:
            for key in container:
                if type(key) is not str or "\x00" in key or (not key.isascii() and not _text_ok(key)):
                    return False
            members: Any = container.values()
        else:
            members = container
        if not _members_ok(members, depth + 1, stack):
            return False
    return True


def _members_ok(members: Any, depth: int, stack: list[tuple[Any, int]]) -> bool:
    """Check the scalars among ``members`` inline (this runs once per value of every request body);
    containers go on ``stack``."""
    for member in members:
        kind = type(member)
        if kind is str:
            if "\x00" in member or (not member.isascii() and not _text_ok(member)):
                return False
        elif kind is dict or kind is list:
            stack.append((member, depth))
        elif kind is int:
            if not -MAX_SAFE_INTEGER <= member <= MAX_SAFE_INTEGER:
                return False
        elif not _scalar_ok(member, kind):
            return False
    return True


def _scalar_ok(item: Any, kind: type) -> bool:
    if kind is str:
        return _text_ok(item)
    if kind is int:
        return bool(-MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER)
    if kind is float:
        return math.isfinite(item)
    return item is None or kind is bool


def _text_ok(text: str) -> bool:
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _locate(value: Any, max_depth: int) -> None:
    """Walk a refused value again, with paths, and raise for the first problem found."""
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, 0, ())]
    while stack:
        item, depth, path = stack.pop()
        kind = type(item)
        if kind is not dict and kind is not list:
            _check_scalar(item, path)
            continue
        if depth >= max_depth:
            raise JsonInputError(f"JSON nested deeper than {max_depth} levels", _pointer(path))
        if kind is list:
            stack.extend((member, depth + 1, (*path, index)) for index, member in enumerate(item))
            continue
        for key, member in item.items():
            if type(key) is not str:
                raise JsonInputError("object member names must be strings", _pointer(path))
            _check_text(key, (*path, key))
            stack.append((member, depth + 1, (*path, key)))


def _check_scalar(item: Any, path: tuple[str | int, ...]) -> None:
    kind = type(item)
    if kind is str:
        _check_text(item, path)
    elif kind is int:
        if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
            raise JsonInputError("integer is outside ±(2^53 - 1)", _pointer(path))
    elif kind is float:
        if not math.isfinite(item):
            raise JsonInputError("number is not finite (NaN, Infinity or out of range)", _pointer(path))
    elif item is not None and kind is not bool:
        raise JsonInputError(f"{kind.__name__} is not a JSON value", _pointer(path))


def _check_text(text: str, path: tuple[str | int, ...]) -> None:
    if "\x00" in text:
        raise JsonInputError("text contains U+0000 (NUL)", _pointer(path))
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JsonInputError("text contains a lone surrogate", _pointer(path)) from None


def _pointer(path: tuple[str | int, ...]) -> str:
    """RFC 6901 JSON Pointer of ``path``; NUL and lone surrogates shown as U+FFFD (storable text)."""
    return "".join("/" + _printable(str(part)).replace("~", "~0").replace("/", "~1") for part in path)


def _printable(text: str) -> str:
    text = text.replace("\x00", "\ufffd")
    if text.isascii():
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
