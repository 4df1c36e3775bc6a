"""Step outputs addressed as ``step.<name>.stdout`` and ``step.<name>.json[.path]``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from spell.errors import InvalidInput, OutputNotFound
from spell.kit.jsonpath import MISSING, get_path

__all__ = ["OUTPUT_REF", "resolve_output"]

OUTPUT_REF = re.compile(r"^step\.([^.]+)\.(stdout|json)(?:\.(.+))?$")


def resolve_output(outputs: Mapping[str, Any], ref: str) -> Any:
    """Return the output a reference names; raise ``OutputNotFound`` or ``InvalidInput``."""
    match = OUTPUT_REF.fullmatch(ref)
    if match is None:
        raise InvalidInput(
            f"invalid output reference {ref!r}",
            hint="use step.<name>.stdout or step.<name>.json[.path]",
        )
    name, kind, path = match.groups()
    key = f"step.{name}.{kind}"
    if key not in outputs:
        raise OutputNotFound(f"output not found: {ref}", details={"ref": ref})
    base = outputs[key]
    if kind == "stdout":
        if path:
            raise InvalidInput(f"stdout reference does not support nested path: {ref}", hint=f"use {key}")
        return base
    if not path:
        return base
    found = get_path(base, path)
    if found is MISSING:
        raise OutputNotFound(f"output not found: {ref}", details={"ref": ref})
    return found
