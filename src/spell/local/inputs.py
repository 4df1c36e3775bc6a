"""Input assembly for local casts: ``--input FILE`` (or ``-``: stdin), then ``-p dot.path=value``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from spell.errors import InvalidInput, PayloadTooLarge
from spell.kit.jsonpath import set_path

__all__ = ["assemble_input", "check_input_size", "parse_param"]


def parse_param(pair: str) -> tuple[str, Any]:
    """Split ``key=value``; the value is JSON when it parses as JSON, else the raw string."""
    key, sep, raw = pair.partition("=")
    if not sep or not key.strip() or any(not part for part in key.split(".")):
        raise InvalidInput(
            f"invalid -p value {pair!r}: expected key=value",
            hint="for example: -p name=world -p opts.count=3",
        )
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def assemble_input(
    params: Iterable[str], input_file: Path | bytes | None, *, max_bytes: int
) -> dict[str, Any]:
    """Build the cast input object; a document larger than ``max_bytes`` is refused before parsing.

    ``input_file`` is a file to read, or the document itself as bytes (``--input -``: stdin).
    """
    data: dict[str, Any] = {}
    if input_file is not None:
        name = "from stdin" if isinstance(input_file, bytes) else f"file {input_file}"
        try:
            size = len(input_file) if isinstance(input_file, bytes) else input_file.stat().st_size
            if size > max_bytes:
                raise _too_large(size, max_bytes)
            raw = input_file if isinstance(input_file, bytes) else input_file.read_bytes()
            loaded = json.loads(raw.decode("utf-8"))
        except OSError as exc:
            raise InvalidInput(f"cannot read input {name}: {exc.strerror or exc}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"input {name} is not valid JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise InvalidInput("the input document must hold a JSON object")
        data = loaded
    for pair in params:
        key, value = parse_param(pair)
        set_path(data, key, value)
    return data


def check_input_size(value: Any, max_bytes: int) -> int:
    """Return the size of the serialised input; ``PayloadTooLarge`` past ``max_bytes``."""
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > max_bytes:
        raise _too_large(size, max_bytes, what="merged input")
    return size


def _too_large(size: int, limit: int, *, what: str = "input") -> PayloadTooLarge:
    # spell-runtime's wording ("merged input is N bytes … SPELL_RUNTIME_INPUT_MAX_BYTES=L"): scripts grep it
    return PayloadTooLarge(
        f"{what} is {size} bytes, above SPELL_RUNTIME_INPUT_MAX_BYTES={limit}",
        details={"size": size, "limit": limit},
        hint="raise SPELL_RUNTIME_INPUT_MAX_BYTES if this input is expected",
    )
