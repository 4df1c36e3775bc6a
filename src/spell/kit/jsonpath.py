"""Dot paths into JSON values (``a.b.0.c``) as spell-runtime uses them for inputs and outputs."""

from __future__ import annotations

from typing import Any

__all__ = ["MISSING", "get_path", "set_path"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def get_path(value: Any, path: str) -> Any:
    """Return the value at a dot path, or ``MISSING`` when any segment is absent."""
    current = value
    for part in path.split(".") if path else []:
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return MISSING
    return current


def set_path(target: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at a dot path, creating intermediate objects."""
    parts = path.split(".")
    current = target
    for part in parts[:-1]:
        nxt = current.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            current[part] = nxt
        current = nxt
    current[parts[-1]] = value
