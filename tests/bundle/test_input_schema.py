"""The input schema check shared by publish, server casts and local casts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from spell.bundle.input_schema import MAX_REPORTED, InputSchema, check_input_json, read_input_schema
from spell.bundle.loaders import load_manifest
from spell.errors import InvalidBundle, InvalidInput
from tests.bundle.factories import make_host_bundle

TYPED = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}},
    "required": ["name"],
}


def _bundle(tmp_path: Path, schema_text: str) -> Path:
    bundle = make_host_bundle(tmp_path / "b")
    (bundle / "schema.json").write_text(schema_text, encoding="utf-8")
    return bundle


def test_a_bundle_schema_is_read_compiled_and_checks_inputs(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, json.dumps(TYPED))
    schema = read_input_schema(bundle, load_manifest(bundle))
    assert schema.schema == TYPED
    assert schema.source == "schema.json"
    schema.check({"name": "x", "tags": ["a"]})


def test_an_input_that_does_not_match_names_every_problem_by_pointer() -> None:
    with pytest.raises(InvalidInput) as caught:
        InputSchema.compile(TYPED).check({"tags": ["a", 2]})
    error = caught.value
    assert error.code == "VALIDATION_ERROR"
    assert [p["path"] for p in error.details["errors"]] == ["/", "/tags/1"]
    assert error.message.startswith("input does not match the schema: /: ")
    assert error.message.endswith("(and 1 more)")


def test_a_flood_of_problems_is_reported_by_count_and_capped() -> None:
    schema = InputSchema.compile({"type": "array", "items": {"type": "string"}})
    with pytest.raises(InvalidInput) as caught:
        schema.check(list(range(500)))
    assert len(caught.value.details["errors"]) == MAX_REPORTED
    assert caught.value.message.endswith("(and 499 more)")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", "not a usable JSON Schema"),
        ("[1, 2]", "must hold a JSON object"),
        ("true", "must hold a JSON object"),
        (json.dumps({"type": "nope"}), "not a usable JSON Schema"),
        (json.dumps({"properties": {"n": {"$ref": "https://x.test/n.json"}}}), "not a usable JSON Schema"),
    ],
)
def test_an_unusable_schema_is_the_bundles_fault(tmp_path: Path, text: str, problem: str) -> None:
    bundle = _bundle(tmp_path, text)
    with pytest.raises(InvalidBundle) as caught:
        read_input_schema(bundle, load_manifest(bundle))
    assert caught.value.code == "INVALID_BUNDLE"
    assert caught.value.message.startswith(f"schema.json: {problem}")
    assert caught.value.details["file"] == "schema.json"


def test_a_missing_schema_file_is_an_invalid_bundle(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    manifest = load_manifest(bundle)
    (bundle / "schema.json").unlink()
    with pytest.raises(InvalidBundle):
        read_input_schema(bundle, manifest)


def test_a_stored_schema_compiles_under_the_name_it_came_from() -> None:
    stored: Any = {"properties": {"n": {"$ref": "#/nowhere"}}}
    with pytest.raises(InvalidBundle) as caught:
        InputSchema.compile(stored, source="inputs/schema.json")
    assert caught.value.message.startswith("inputs/schema.json: not a usable JSON Schema")
    assert caught.value.details["errors"]


def test_input_must_be_strict_json_before_any_schema_sees_it() -> None:
    check_input_json({"n": 2**53 - 1, "s": "é"})
    for bad in ({"n": float("nan")}, {"n": 2**53}, {"s": "a\x00b"}, {"deep": _nested(70)}):
        with pytest.raises(InvalidInput) as caught:
            check_input_json(bad)
        assert caught.value.message == "the input is not acceptable JSON"
        assert caught.value.details["errors"][0]["path"].startswith("input/")


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value
