"""A cast's input, checked the same way by the local cast and the server: strict JSON first
(``check_input_json``), then the spell's input schema (``InputSchema.check``).

Publish reads and checks the schema (``read_input_schema``), every cast checks its input, so an
input is accepted or refused with the same words in both places. A schema that cannot be used is the
maker's fault (``InvalidBundle``); an input it refuses is the caster's (``InvalidInput``, every
problem by JSON Pointer, at most ``MAX_REPORTED`` of them).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spell.bundle.manifest import SpellManifest
from spell.errors import InvalidBundle, InvalidInput
from spell.kit import json_input
from spell.kit.canonical_json import canonical_bytes
from spell.kit.json_schema import CompiledSchema, SchemaInvalid, compile_schema, validator_build

if TYPE_CHECKING:
    from spell.bundle.cache import PrivateCache

__all__ = ["MAX_REPORTED", "InputSchema", "check_input", "check_input_json", "read_input_schema"]

# A hostile input can fail a schema a million times; the answer names the first ones and the count.
MAX_REPORTED = 20


@dataclass(frozen=True)
class InputSchema:
    """A usable input schema (a JSON object, valid JSON Schema 2020-12) and its compiled validator."""

    schema: dict[str, Any]
    validator: CompiledSchema
    source: str = "schema.json"

    @classmethod
    def compile(cls, schema: Any, *, source: str = "schema.json") -> InputSchema:
        """Check and compile ``schema``; ``InvalidBundle`` naming ``source`` when no cast could use it."""
        if not isinstance(schema, dict):
            raise InvalidBundle(f"{source}: must hold a JSON object", details={"file": source})
        try:
            validator = compile_schema(schema)
        except SchemaInvalid as exc:
            raise InvalidBundle(
                f"{source}: not a usable JSON Schema: {exc}",
                details={"file": source, "errors": exc.problems},
            ) from None
        return cls(schema, validator, source)

    def check(self, value: Any) -> None:
        """Return when ``value`` satisfies the schema; ``InvalidInput`` listing the problems otherwise."""
        problems = self.validator.problems(value)
        if not problems:
            return
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InvalidInput(
            f"input does not match the schema: {first['path']}: {first['message']}{more}",
            details={"errors": problems[:MAX_REPORTED]},
        )


def read_input_schema(bundle_dir: Path, manifest: SpellManifest) -> InputSchema:
    """The bundle's input schema file (``inputs_schema`` of the manifest), parsed and compiled."""
    source = manifest.schema_relpath
    return _parse(_read_schema(bundle_dir, source), source)


def check_input(
    bundle_dir: Path, manifest: SpellManifest, value: Any, *, verdicts: PrivateCache | None = None
) -> None:
    """``read_input_schema(bundle_dir, manifest).check(value)``, remembering inputs that passed.

    Whether a value satisfies a schema is a pure function of the two (and of the validator's
    build), so a pass is remembered in ``verdicts`` under a SHA-256 of the schema file's exact bytes,
    the value's canonical JSON and ``validator_build()``; the same input to the same schema is then
    accepted without importing and compiling the validator. Only passes are remembered: every
    refusal is found, and worded, by the validator.
    """
    source = manifest.schema_relpath
    data = _read_schema(bundle_dir, source)
    key = _verdict_key(data, value) if verdicts is not None else None
    if verdicts is not None and key is not None and verdicts.get(key) == b"valid":
        return
    _parse(data, source).check(value)
    if verdicts is not None and key is not None:
        verdicts.put(key, b"valid")


# Part of every remembered verdict's key, so an entry never stands for anything but this check.
_VERDICT_DOMAIN = b"spell input verdict v1\0"


def _verdict_key(schema: bytes, value: Any) -> str | None:
    build = validator_build()
    if not build:
        return None
    try:
        document = canonical_bytes(value)
    except (ValueError, TypeError):
        return None
    digest = hashlib.sha256(_VERDICT_DOMAIN)
    for part in (build, schema, document):  # each length-prefixed: no two splits give one key
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _read_schema(bundle_dir: Path, source: str) -> bytes:
    try:
        return (Path(bundle_dir) / source).read_bytes()
    except OSError as exc:
        raise InvalidBundle(f"{source}: not a usable JSON Schema: {exc}", details={"file": source}) from None


def _parse(data: bytes, source: str) -> InputSchema:
    try:
        schema = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidBundle(f"{source}: not a usable JSON Schema: {exc}", details={"file": source}) from None
    return InputSchema.compile(schema, source=source)


def check_input_json(value: Any) -> None:
    """Refuse input the digests and the database cannot hold as it is (``spell.kit.json_input``)."""
    try:
        json_input.check(value)
    except json_input.JsonInputError as exc:
        raise InvalidInput(
            "the input is not acceptable JSON",
            details={"errors": [{"path": "input" + exc.pointer, "message": exc.message}]},
        ) from None
