"""``{{INPUT.path}}`` / ``{{ENV.NAME}}`` templating of step definitions.

A string that is exactly one placeholder becomes the referenced value with its JSON type kept
(``"{{INPUT.count}}"`` → ``3``). Placeholders embedded in longer text are replaced by their text
form. Replacement goes through a function, never a replacement pattern, so values holding ``$&``,
``$$`` or backslashes arrive byte for byte.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from spell.errors import InvalidInput
from spell.kit.jsonpath import MISSING, get_path

__all__ = ["render", "render_text"]

_TOKEN = re.compile(r"\{\{\s*(INPUT|ENV)\.([A-Za-z0-9_.\-]+)\s*\}\}")


def render(value: Any, input_value: Any, env: Mapping[str, str]) -> Any:
    """Return ``value`` with every placeholder in every string (keys excluded) resolved."""
    if isinstance(value, str):
        return render_text(value, input_value, env)
    if isinstance(value, list):
        return [render(item, input_value, env) for item in value]
    if isinstance(value, dict):
        return {key: render(item, input_value, env) for key, item in value.items()}
    return value


def render_text(text: str, input_value: Any, env: Mapping[str, str]) -> Any:
    """Resolve placeholders in one string; a whole-string placeholder keeps its JSON type."""
    whole = _TOKEN.fullmatch(text.strip())
    if whole is not None and text.strip() == text:
        return _lookup(whole.group(1), whole.group(2), input_value, env)

    def substitute(match: re.Match[str]) -> str:
        found = _lookup(match.group(1), match.group(2), input_value, env)
        return found if isinstance(found, str) else json.dumps(found, separators=(",", ":"))

    return _TOKEN.sub(substitute, text)


def _lookup(scope: str, path: str, input_value: Any, env: Mapping[str, str]) -> Any:
    if scope == "ENV":
        if path not in env:
            raise InvalidInput(
                f"template references ENV.{path}, which is not set",
                details={"placeholder": f"ENV.{path}"},
                hint="only the declared connector tokens are visible to steps",
            )
        return env[path]
    found = get_path(input_value, path)
    if found is MISSING:
        raise InvalidInput(
            f"template references INPUT.{path}, which the input does not have",
            details={"placeholder": f"INPUT.{path}"},
        )
    return found
