"""An HTML form generated from a spell's input JSON Schema, and the JSON value a posted form gives.

Each field is named by the JSON Pointer of its value (``in/address/city``; the root value is ``in``).
Strings, numbers, integers, booleans (a checkbox), enums (a select) and objects (a fieldset of their
properties) get their own controls; anything else (arrays, ``oneOf``…) is a JSON text area. Values
that do not parse as their type are passed on as the text typed, so the schema validation the API
runs (``bundle.input_schema``) reports them with its own words, next to the field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from spell.kit.json_schema import SchemaProblem

__all__ = ["FormField", "build_fields", "read_value"]

ROOT = "in"
_MAX_DEPTH = 8  # nested fieldsets past this are a JSON text area


@dataclass
class FormField:
    """One control (or fieldset) of the generated form."""

    name: str
    label: str
    kind: str  # string | integer | number | boolean | enum | object | json
    required: bool = False
    description: str | None = None
    choices: list[Any] = field(default_factory=list)
    children: list[FormField] = field(default_factory=list)
    value: str = ""
    checked: bool = False
    error: str | None = None
    minimum: Any = None
    maximum: Any = None
    max_length: int | None = None

    @property
    def pointer(self) -> str:
        """The JSON Pointer of this field's value (``/`` for the root)."""
        return self.name[len(ROOT) :] or "/"

    @property
    def control_id(self) -> str:
        """An HTML id for the control."""
        return "f-" + self.name.replace("/", "-").replace("~", "_")


def _kind(schema: Mapping[str, Any], depth: int) -> str:
    if "enum" in schema and isinstance(schema["enum"], list) and schema["enum"]:
        return "enum"
    kind = schema.get("type")
    if kind == "object" and isinstance(schema.get("properties"), dict) and depth < _MAX_DEPTH:
        return "object"
    if kind in ("string", "integer", "number", "boolean"):
        return str(kind)
    return "json"


def build_fields(
    schema: Any, value: Any = None, problems: list[SchemaProblem] | None = None
) -> tuple[FormField, list[SchemaProblem]]:
    """The root field of ``schema``, filled with ``value`` (a previous post) and its ``problems``;
    also the problems no field shows (they are listed above the form)."""
    schema = schema if isinstance(schema, dict) else {}
    by_pointer: dict[str, str] = {}
    for problem in problems or []:
        by_pointer.setdefault(problem["path"], problem["message"])
    root = _field(schema, ROOT, "Input", required=True, value=value, depth=0, errors=by_pointer)
    shown = {f.pointer for f in _walk(root)}
    rest = [p for p in problems or [] if p["path"] not in shown]
    return root, rest


def _walk(root: FormField) -> list[FormField]:
    found = [root]
    for child in root.children:
        found += _walk(child)
    return found


def _field(
    schema: Mapping[str, Any],
    name: str,
    label: str,
    *,
    required: bool,
    value: Any,
    depth: int,
    errors: dict[str, str],
) -> FormField:
    kind = _kind(schema, depth)
    made = FormField(
        name=name,
        label=str(schema.get("title") or label),
        kind=kind,
        required=required,
        description=schema.get("description") if isinstance(schema.get("description"), str) else None,
        minimum=schema.get("minimum"),
        maximum=schema.get("maximum"),
        max_length=schema.get("maxLength") if isinstance(schema.get("maxLength"), int) else None,
    )
    made.error = errors.get(made.pointer)
    if value is None and "default" in schema:
        value = schema["default"]
    if kind == "object":
        wanted = set(schema.get("required") or [])
        props: dict[str, Any] = schema["properties"]
        given = value if isinstance(value, dict) else {}
        for key, sub in props.items():
            escaped = key.replace("~", "~0").replace("/", "~1")
            made.children.append(
                _field(
                    sub if isinstance(sub, dict) else {},
                    f"{name}/{escaped}",
                    key,
                    required=key in wanted,
                    value=given.get(key),
                    depth=depth + 1,
                    errors=errors,
                )
            )
    elif kind == "enum":
        made.choices = list(schema["enum"])
        made.value = str(made.choices.index(value)) if value in made.choices else ""
    elif kind == "boolean":
        made.checked = value is True
    elif kind == "json":
        made.value = "" if value is None else json.dumps(value, indent=2)
    elif value is not None:
        made.value = str(value)
    return made


def read_value(root: FormField, form: Mapping[str, Any]) -> tuple[Any, list[SchemaProblem]]:
    """The JSON value the posted ``form`` gives for the fields of ``root``, and the problems of
    values that are not even JSON (a JSON text area that does not parse)."""
    problems: list[SchemaProblem] = []
    value = _read(root, form, problems)
    return (
        {} if value is _MISSING and root.kind == "object" else None if value is _MISSING else value
    ), problems


_MISSING: Any = object()


def _read(made: FormField, form: Mapping[str, Any], problems: list[SchemaProblem]) -> Any:
    if made.kind == "object":
        out: dict[str, Any] = {}
        for child in made.children:
            got = _read(child, form, problems)
            if got is not _MISSING:
                out[child.name.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")] = got
        return out if out or made.required else _MISSING
    if made.kind == "boolean":
        return form.get(made.name) == "true"
    raw = form.get(made.name)
    text = raw if isinstance(raw, str) else ""
    if text == "":
        return _MISSING
    if made.kind == "enum":
        return made.choices[int(text)] if text.isdigit() and int(text) < len(made.choices) else text
    if made.kind == "integer":
        return _number(text, int)
    if made.kind == "number":
        return _number(text, float)
    if made.kind == "json":
        try:
            return json.loads(text)
        except ValueError as exc:
            problems.append(SchemaProblem(path=made.pointer, message=f"not valid JSON: {exc}"))
            return _MISSING
    return text


def _number(text: str, kind: type[int] | type[float]) -> Any:
    try:
        number = kind(text.strip())
    except ValueError:
        return text  # the schema check names the type it wanted
    if isinstance(number, float) and not math.isfinite(number):
        return text
    if isinstance(number, float) and number.is_integer() and "." not in text and "e" not in text.lower():
        return int(number)
    return number
