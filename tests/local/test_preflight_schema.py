"""The input schema check of a local cast: JSON Pointer paths, unusable schemas, no remote refs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spell.config.home import SpellHome
from spell.errors import SpellError
from spell.kit.time import utcnow
from spell.local import CastOptions, LocalContext, preflight
from tests.local.harness import host_spell, use_home

TYPED = {
    "type": "object",
    "properties": {"n": {"type": "integer"}, "items": {"type": "array", "items": {"type": "string"}}},
    "required": ["n"],
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SpellHome:
    return use_home(tmp_path, monkeypatch)


def _preflight(home: SpellHome, options: CastOptions) -> None:
    preflight(options, LocalContext(home=home, environ={}, input_max_bytes=65536, now=utcnow()))


def test_input_problems_are_listed_by_json_pointer(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "typed", "#!/bin/sh\n", schema=json.dumps(TYPED))
    with pytest.raises(SpellError) as info:
        _preflight(home, CastOptions(spell, params=('items=["a", 2]',)))
    assert info.value.code == "VALIDATION_ERROR"
    assert [p["path"] for p in info.value.details["errors"]] == ["/", "/items/1"]


def test_a_schema_that_is_not_valid_2020_12_makes_the_bundle_invalid(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "badschema", "#!/bin/sh\n", schema='{"type": "whole number"}')
    with pytest.raises(SpellError) as info:
        _preflight(home, CastOptions(spell))
    assert info.value.code == "INVALID_BUNDLE"
    assert [p["path"] for p in info.value.details["errors"]] == ["/type"]


def test_a_schema_with_a_remote_ref_makes_the_bundle_invalid(tmp_path: Path, home: SpellHome) -> None:
    schema = json.dumps({"properties": {"n": {"$ref": "https://schemas.example.test/n.json"}}})
    spell = host_spell(tmp_path, "remoteref", "#!/bin/sh\n", schema=schema)
    with pytest.raises(SpellError) as info:
        _preflight(home, CastOptions(spell))
    assert info.value.code == "INVALID_BUNDLE"


def test_a_schema_file_that_is_not_json_makes_the_bundle_invalid(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "notjson", "#!/bin/sh\n", schema="{type: object")
    with pytest.raises(SpellError) as info:
        _preflight(home, CastOptions(spell))
    assert info.value.code == "INVALID_BUNDLE"
