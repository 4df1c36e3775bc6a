"""JSON Schema 2020-12 validation: compiled once per schema, never fetching anything remote.

Every input schema in Spell is Draft 2020-12, whatever its ``$schema`` says, as in spell-runtime.
A schema is first checked against the 2020-12 meta-schema (bundled, so offline), then compiled with
a retriever that refuses every remote ``$ref``: a spell's schema must be self-contained, and
validating an input must never open a connection. Compiled validators are kept in a small LRU
keyed by the schema's canonical (RFC 8785) bytes.

Problems are ``{"path": JSON Pointer of the offending value ("/" for the whole value),
"message": ...}``, sorted by path.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypedDict

from spell.kit.canonical_json import canonical_bytes

if TYPE_CHECKING:
    import jsonschema_rs

__all__ = ["CompiledSchema", "SchemaInvalid", "SchemaProblem", "compile_schema", "schema_problems"]

META_SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"
_META_URIS = (META_SCHEMA_URI, f"{META_SCHEMA_URI}#")
CACHE_SIZE = 128


class SchemaProblem(TypedDict):
    """One reason a value (or a schema) does not validate."""

    path: str
    message: str


class SchemaInvalid(ValueError):
    """The schema itself is unusable: not valid 2020-12, a dangling or remote ``$ref``, a bad regex."""

    def __init__(self, message: str, problems: list[SchemaProblem]) -> None:
        super().__init__(message)
        self.problems = problems


def _refuse_remote(uri: str) -> Any:
    """Retriever for every ``$ref`` outside the schema: always refuses, so nothing is fetched."""
    raise LookupError(f"remote $ref {uri!r} is not allowed (schemas must be self-contained)")


class CompiledSchema:
    """A compiled 2020-12 validator; ``problems(value)`` lists every way ``value`` fails it."""

    __slots__ = ("_validator",)

    def __init__(self, validator: jsonschema_rs.Validator) -> None:
        self._validator = validator

    def is_valid(self, value: Any) -> bool:
        """True when ``value`` satisfies the schema (stops at the first problem)."""
        return self._validator.is_valid(value)

    def problems(self, value: Any) -> list[SchemaProblem]:
        """Every problem of ``value``, sorted by path; empty when it is valid."""
        if self._validator.is_valid(value):  # the common case: no error objects built at all
            return []
        return _sorted_problems((e.instance_path, e.message) for e in self._validator.iter_errors(value))


def compile_schema(schema: Any) -> CompiledSchema:
    """Meta-validate and compile ``schema`` (a parsed JSON value), from the LRU when seen before.

    Raises ``SchemaInvalid`` when the schema is not a valid 2020-12 schema or cannot be compiled
    (a ``$ref`` that points nowhere or outside the schema, an invalid regular expression, ...).
    """
    try:
        text = canonical_bytes(schema).decode("utf-8")
    except (ValueError, TypeError):
        # Not canonicalisable (a number outside I-JSON's range, a non-JSON object): compile uncached.
        return _compile(schema)
    return _compile_cached(text)


@functools.cache
def validator_build() -> bytes:
    """Identifies the installed jsonschema-rs (its package file's path, size and mtime) without
    importing it, so a remembered verdict (``spell.bundle.input_schema``) is never reused across an
    upgrade of the validator. Empty when it cannot be found: nothing should be remembered then."""
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("jsonschema_rs")
    if spec is None or not spec.origin:
        return b""
    try:
        info = os.stat(spec.origin)
    except OSError:
        return b""
    return f"{spec.origin}\0{info.st_size}\0{info.st_mtime_ns}\0{_VERDICT_RULES}".encode()


# Part of ``validator_build``: a change to how this module compiles or checks schemas must be
# followed by a new value, so verdicts remembered under the old rules are not reused.
_VERDICT_RULES = "draft2020-12 remote-refs-refused v1"


def schema_problems(schema: Any, value: Any) -> list[SchemaProblem]:
    """Validate ``value`` against ``schema``; the problems sorted by path (empty when valid)."""
    return compile_schema(schema).problems(value)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _compile_cached(canonical_text: str) -> CompiledSchema:
    return _compile(json.loads(canonical_text))


def _compile(schema: Any) -> CompiledSchema:
    import jsonschema_rs  # imported on first compile: a remembered verdict needs no validator

    if not _meets_meta_schema(schema) and not (meta := _meta_validator()).is_valid(schema):
        problems = _sorted_problems((e.instance_path, e.message) for e in meta.iter_errors(schema))
        first = problems[0]
        raise SchemaInvalid(f"not a valid JSON Schema 2020-12: {first['path']}: {first['message']}", problems)
    try:
        validator = jsonschema_rs.Draft202012Validator(schema, retriever=_refuse_remote)
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError) as exc:
        problem = SchemaProblem(path=_pointer(getattr(exc, "instance_path", [])), message=exc.message)
        raise SchemaInvalid(f"schema cannot be compiled: {exc.message}", [problem]) from None
    return CompiledSchema(validator)


def _meets_meta_schema(schema: Any) -> bool:
    """True when jsonschema-rs's own 2020-12 meta-schema check passes ``schema``.

    That check is built into jsonschema-rs, while ``_meta_validator`` compiles the meta-schema
    (several milliseconds, once per process): a valid schema, the common case, skips it. Any other
    answer goes through ``_meta_validator``, which also names the problems. The built-in check reads
    ``$schema``, so only schemas that name no draft or 2020-12 take this path.
    """
    import jsonschema_rs

    declared = schema.get("$schema", META_SCHEMA_URI) if isinstance(schema, dict) else None
    return declared in _META_URIS and bool(jsonschema_rs.meta.is_valid(schema))


@functools.cache
def _meta_validator() -> jsonschema_rs.Validator:
    import jsonschema_rs

    # The 2020-12 meta-schema ships inside jsonschema-rs, so this reference resolves offline.
    return jsonschema_rs.Draft202012Validator({"$ref": META_SCHEMA_URI}, retriever=_refuse_remote)


def _pointer(parts: Iterable[str | int]) -> str:
    """RFC 6901 pointer of an instance path; ``/`` for the root, as spell-runtime prints it."""
    escaped = [str(p).replace("~", "~0").replace("/", "~1") for p in parts]
    return "/" + "/".join(escaped)


def _sort_key(parts: list[str | int]) -> list[tuple[int, int, str]]:
    # Array indices in numeric order, before property names at the same depth.
    return [(0, p, "") if isinstance(p, int) else (1, 0, p) for p in parts]


def _sorted_problems(found: Iterable[tuple[list[str | int], str]]) -> list[SchemaProblem]:
    unique: dict[tuple[str, str], list[str | int]] = {}
    for parts, message in found:  # a non-object root fails every applicator alike: report it once
        unique.setdefault((_pointer(parts), message), parts)
    ordered = sorted(unique.items(), key=lambda item: _sort_key(item[1]))
    return [SchemaProblem(path=path, message=message) for (path, message), _ in ordered]
