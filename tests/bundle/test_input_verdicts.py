"""Remembered input verdicts: a pass is reused only for the same schema bytes and the same value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import spell.bundle.input_schema as input_schema
from spell.bundle.cache import PrivateCache
from spell.bundle.input_schema import check_input, read_input_schema
from spell.bundle.loaders import load_manifest
from spell.errors import InvalidBundle, InvalidInput
from tests.bundle.factories import make_host_bundle

SCHEMA = '{"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}'


def _bundle(tmp_path: Path, schema: str = SCHEMA) -> Path:
    bundle = make_host_bundle(tmp_path / "b")
    (bundle / "schema.json").write_text(schema, encoding="utf-8")
    return bundle


def _check(bundle: Path, value: Any, cache: PrivateCache) -> None:
    check_input(bundle, load_manifest(bundle), value, verdicts=cache)


def _no_validator(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(data: bytes, source: str) -> object:
        raise AssertionError("the schema was compiled")

    monkeypatch.setattr(input_schema, "_parse", refuse)


def test_a_remembered_pass_skips_the_validator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = _bundle(tmp_path)
    cache = PrivateCache(tmp_path / "inputs")
    _check(bundle, {"n": 1}, cache)
    assert len(list(cache.root.iterdir())) == 1
    _no_validator(monkeypatch)
    _check(bundle, {"n": 1}, cache)


def test_another_value_or_schema_is_checked_again(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    cache = PrivateCache(tmp_path / "inputs")
    _check(bundle, {"n": 1}, cache)
    with pytest.raises(InvalidInput, match="input does not match the schema"):
        _check(bundle, {"n": "one"}, cache)
    (bundle / "schema.json").write_text(SCHEMA.replace('"integer"', '"string"'), encoding="utf-8")
    with pytest.raises(InvalidInput, match="input does not match the schema"):
        _check(bundle, {"n": 1}, cache)


def test_a_refusal_is_never_remembered_and_reads_as_without_a_cache(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    cache = PrivateCache(tmp_path / "inputs")
    with pytest.raises(InvalidInput) as without:
        read_input_schema(bundle, load_manifest(bundle)).check({})
    for _ in range(2):
        with pytest.raises(InvalidInput) as caught:
            _check(bundle, {}, cache)
        assert (caught.value.message, caught.value.details) == (without.value.message, without.value.details)
    assert not cache.root.exists() or list(cache.root.iterdir()) == []


@pytest.mark.parametrize("schema", ["{not json", "[]", '{"type": 5}'])
def test_an_unusable_schema_is_refused_every_time(tmp_path: Path, schema: str) -> None:
    bundle = _bundle(tmp_path, schema)
    cache = PrivateCache(tmp_path / "inputs")
    for _ in range(2):
        with pytest.raises(InvalidBundle):
            _check(bundle, {"n": 1}, cache)


def test_without_an_identified_validator_nothing_is_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(input_schema, "validator_build", lambda: b"")
    bundle = _bundle(tmp_path)
    cache = PrivateCache(tmp_path / "inputs")
    _check(bundle, {"n": 1}, cache)
    assert not cache.root.exists()


def test_the_validator_build_names_the_installed_package() -> None:
    import jsonschema_rs

    from spell.kit.json_schema import validator_build

    assert str(Path(jsonschema_rs.__file__)).encode() in validator_build()
