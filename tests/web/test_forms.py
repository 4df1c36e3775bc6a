"""The cast form generated from an input schema: a control per type, required marks, enums, nested
objects as fieldsets, and the JSON value a posted form gives back."""

from __future__ import annotations

from typing import Any

from spell.kit.json_schema import SchemaProblem
from spell.web.forms import FormField, build_fields, read_value

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "size"],
    "properties": {
        "name": {"type": "string", "title": "Your name", "maxLength": 20, "description": "who to greet"},
        "size": {"type": "integer", "minimum": 1, "maximum": 9},
        "ratio": {"type": "number"},
        "loud": {"type": "boolean"},
        "tone": {"enum": ["warm", "cold", 3]},
        "address": {
            "type": "object",
            "required": ["city"],
            "properties": {"city": {"type": "string"}, "a/b~c": {"type": "string"}},
        },
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}


def _by_name(root: FormField) -> dict[str, FormField]:
    found = {root.name: root}
    for child in root.children:
        found.update(_by_name(child))
    return found


def test_each_schema_type_gets_its_control() -> None:
    root, rest = build_fields(SCHEMA)
    fields = _by_name(root)
    assert rest == []
    assert {name: f.kind for name, f in fields.items()} == {
        "in": "object",
        "in/name": "string",
        "in/size": "integer",
        "in/ratio": "number",
        "in/loud": "boolean",
        "in/tone": "enum",
        "in/address": "object",
        "in/address/city": "string",
        "in/address/a~1b~0c": "string",
        "in/tags": "json",
    }
    assert fields["in/name"].label == "Your name"
    assert fields["in/name"].description == "who to greet"
    assert fields["in/name"].max_length == 20
    assert (fields["in/size"].minimum, fields["in/size"].maximum) == (1, 9)
    assert [f.name for f in fields.values() if f.required] == ["in", "in/name", "in/size", "in/address/city"]
    assert fields["in/tone"].choices == ["warm", "cold", 3]
    assert fields["in/address/a~1b~0c"].pointer == "/address/a~1b~0c"


def test_a_posted_form_reads_back_as_typed_json() -> None:
    root, _ = build_fields(SCHEMA)
    form = {
        "in/name": "Ada",
        "in/size": "3",
        "in/ratio": "0.5",
        "in/loud": "true",
        "in/tone": "2",
        "in/address/city": "Paris",
        "in/address/a~1b~0c": "odd key",
        "in/tags": '["x", "y"]',
    }
    value, problems = read_value(root, form)
    assert problems == []
    assert value == {
        "name": "Ada",
        "size": 3,
        "ratio": 0.5,
        "loud": True,
        "tone": 3,
        "address": {"city": "Paris", "a/b~c": "odd key"},
        "tags": ["x", "y"],
    }


def test_empty_optional_fields_are_left_out_and_unchecked_boxes_are_false() -> None:
    root, _ = build_fields(SCHEMA)
    value, _ = read_value(root, {"in/name": "Ada", "in/size": "1", "in/ratio": ""})
    assert value == {"name": "Ada", "size": 1, "loud": False}


def test_values_of_the_wrong_type_are_passed_on_for_the_schema_to_name() -> None:
    root, _ = build_fields(SCHEMA)
    value, problems = read_value(root, {"in/size": "three", "in/ratio": "nan", "in/tags": "[oops"})
    assert value["size"] == "three"
    assert value["ratio"] == "nan"  # not a JSON number: the schema check refuses the text
    assert [p["path"] for p in problems] == ["/tags"]


def test_a_previous_post_and_its_problems_fill_the_form_again() -> None:
    previous = {"name": "Ada", "size": 12, "loud": True, "tone": "cold", "tags": ["x"]}
    problems = [
        SchemaProblem(path="/size", message="12 is greater than the maximum of 9"),
        SchemaProblem(path="/", message="something about the whole input"),
    ]
    root, rest = build_fields(SCHEMA, previous, problems)
    fields = _by_name(root)
    assert fields["in/size"].value == "12"
    assert fields["in/size"].error == "12 is greater than the maximum of 9"
    assert fields["in/loud"].checked
    assert fields["in/tone"].value == "1"
    assert '"x"' in fields["in/tags"].value
    assert fields["in"].error == "something about the whole input"
    assert rest == []


def test_a_schema_that_is_not_an_object_is_one_field() -> None:
    root, _ = build_fields({"type": "string"})
    assert (root.name, root.kind, root.pointer) == ("in", "string", "/")
    assert read_value(root, {"in": "w:report.txt"}) == ("w:report.txt", [])
    assert read_value(root, {}) == (None, [])


def test_problems_at_paths_no_field_shows_are_listed_apart() -> None:
    root, rest = build_fields(SCHEMA, None, [SchemaProblem(path="/tags/0", message="not a string")])
    assert rest == [{"path": "/tags/0", "message": "not a string"}]
    assert all(f.error is None for f in _by_name(root).values())


def test_defaults_prefill_the_form() -> None:
    root, _ = build_fields({"type": "object", "properties": {"n": {"type": "integer", "default": 4}}})
    assert _by_name(root)["in/n"].value == "4"
