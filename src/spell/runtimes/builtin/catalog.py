"""The builtin functions, each with the JSON Schema of its input."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from spell.errors import InvalidInput
from spell.kit.canonical_json import canonical_bytes
from spell.kit.json_schema import compile_schema

__all__ = ["BUILTINS", "Builtin", "BuiltinFailed", "builtin_named"]

HASH_ALGORITHMS = ("sha256", "sha384", "sha512", "sha3_256", "sha3_512", "blake2b", "blake2s")
MAX_EXPRESSION_CHARS = 4096


class BuiltinFailed(Exception):
    """The function refused its input (a bad expression, a schema that is not one): the cast fails
    with this message; it is the caller's input, never a platform fault."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = details or {}


@dataclass(frozen=True)
class Builtin:
    """One function: its name, what it does, its input schema and the function itself."""

    name: str
    summary: str
    input_schema: Mapping[str, Any]
    fn: Callable[[Any], Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe description (``spell builtins --json``)."""
        return {"name": self.name, "summary": self.summary, "input_schema": dict(self.input_schema)}


def _echo(value: Any) -> Any:
    return value


def _transform(value: dict[str, Any]) -> dict[str, Any]:
    import jmespath
    from jmespath.exceptions import JMESPathError

    expression = value["expression"]
    try:
        compiled = jmespath.compile(expression)
        return {"result": compiled.search(value.get("data"))}
    except JMESPathError as exc:
        raise BuiltinFailed(f"expression {expression!r} is not valid JMESPath: {exc}") from None


def _validate(value: dict[str, Any]) -> dict[str, Any]:
    from spell.kit.json_schema import SchemaInvalid

    try:
        schema = compile_schema(value["schema"])
    except SchemaInvalid as exc:
        raise BuiltinFailed(
            f"schema is not a usable JSON Schema: {exc}", {"problems": exc.problems}
        ) from None
    problems = schema.problems(value.get("instance"))
    return {"valid": not problems, "errors": problems}


def _hash(value: dict[str, Any]) -> dict[str, Any]:
    algorithm = value.get("algorithm", "sha256")
    data = value["data"]
    # Text is hashed as its UTF-8 bytes; any other JSON value as its canonical (RFC 8785) form, so the
    # same value always has the same hash whatever its key order.
    raw = data.encode("utf-8") if isinstance(data, str) else canonical_bytes(data)
    return {"algorithm": algorithm, "hex": hashlib.new(algorithm, raw).hexdigest(), "bytes": len(raw)}


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in (
        Builtin(
            "echo",
            "Return the input unchanged.",
            {"$schema": "https://json-schema.org/draft/2020-12/schema"},
            _echo,
        ),
        Builtin(
            "json.transform",
            'Apply a JMESPath expression to `data`; the output is {"result": …}.',
            _object(
                {
                    "data": {"description": "any JSON value"},
                    "expression": {"type": "string", "minLength": 1, "maxLength": MAX_EXPRESSION_CHARS},
                },
                ["expression"],
            ),
            _transform,
        ),
        Builtin(
            "json.validate",
            "Validate `instance` against the JSON Schema (2020-12) `schema`; the output lists every problem.",
            _object(
                {"schema": {"type": ["object", "boolean"]}, "instance": {"description": "any JSON value"}},
                ["schema"],
            ),
            _validate,
        ),
        Builtin(
            "hash",
            "Hash `data` (text as UTF-8, other JSON canonically) with `algorithm` (default sha256).",
            _object(
                {
                    "data": {"description": "text or any JSON value"},
                    "algorithm": {"enum": list(HASH_ALGORITHMS)},
                },
                ["data"],
            ),
            _hash,
        ),
    )
}


def builtin_named(name: str) -> Builtin:
    """The builtin called ``name``; ``VALIDATION_ERROR`` naming the known ones otherwise."""
    try:
        return BUILTINS[name]
    except KeyError:
        raise InvalidInput(
            f"no builtin function {name!r}",
            details={"builtin": name, "known": sorted(BUILTINS)},
            hint="`spell builtins` lists them",
        ) from None
