"""The builtin functions: each one's result, and how bad input, a bad expression or schema, an unknown
name, a cancel and an output over the limit end the cast."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import pytest

from spell.bundle.manifest import SpellManifest
from spell.errors import InvalidInput
from spell.kit.canonical_json import canonical_bytes
from spell.runtimes.base import CastRequest, Limits, Outcome
from spell.runtimes.builtin import BUILTINS, BuiltinRuntime, builtin_named


def _request(name: str, value: Any, **kwargs: Any) -> CastRequest:
    manifest = SpellManifest.from_dict(
        {
            "id": "acme/b",
            "version": "1.0.0",
            "name": "b",
            "runtime": {"execution": "builtin", "builtin": name},
        }
    )
    return CastRequest(bundle_dir=Path("/nonexistent"), manifest=manifest, input=value, **kwargs)


def test_echo_returns_its_input() -> None:
    result = BuiltinRuntime().run(_request("echo", {"a": [1, "x", None]}))
    assert result.outcome is Outcome.SUCCEEDED
    assert result.output == {"a": [1, "x", None]}
    assert result.usage.output_bytes == len(b'{"a":[1,"x",null]}')
    assert result.usage.wall_ms > 0


def test_transform_applies_a_jmespath_expression() -> None:
    data = {"people": [{"name": "ada", "age": 36}, {"name": "alan", "age": 41}]}
    value = {"data": data, "expression": "people[?age > `40`].name"}
    result = BuiltinRuntime().run(_request("json.transform", value))
    assert result.outcome is Outcome.SUCCEEDED
    assert result.output == {"result": ["alan"]}


def test_a_bad_expression_fails_the_cast_with_its_reason() -> None:
    result = BuiltinRuntime().run(_request("json.transform", {"data": {}, "expression": "people[?"}))
    assert result.outcome is Outcome.FAILED
    assert "not valid JMESPath" in result.message
    assert result.details["builtin"] == "json.transform"


def test_validate_lists_every_problem() -> None:
    schema = {"type": "object", "required": ["a"], "properties": {"b": {"type": "integer"}}}
    result = BuiltinRuntime().run(_request("json.validate", {"schema": schema, "instance": {"b": "x"}}))
    assert result.outcome is Outcome.SUCCEEDED
    assert result.output["valid"] is False
    assert [p["path"] for p in result.output["errors"]] == ["/", "/b"]
    good = BuiltinRuntime().run(_request("json.validate", {"schema": schema, "instance": {"a": 1}}))
    assert good.output == {"valid": True, "errors": []}


def test_a_schema_that_is_not_one_fails_the_cast() -> None:
    result = BuiltinRuntime().run(_request("json.validate", {"schema": {"type": 12}, "instance": 1}))
    assert result.outcome is Outcome.FAILED
    assert "not a usable JSON Schema" in result.message
    assert result.details["problems"]


def test_hash_of_text_is_its_utf8_hash_and_of_json_its_canonical_hash() -> None:
    text = BuiltinRuntime().run(_request("hash", {"data": "héllo"}))
    assert text.output == {
        "algorithm": "sha256",
        "hex": hashlib.sha256("héllo".encode()).hexdigest(),
        "bytes": len("héllo".encode()),
    }
    one = BuiltinRuntime().run(_request("hash", {"data": {"b": 1, "a": 2}, "algorithm": "blake2b"}))
    other = BuiltinRuntime().run(_request("hash", {"data": {"a": 2, "b": 1}, "algorithm": "blake2b"}))
    assert one.output == other.output
    assert one.output["hex"] == hashlib.blake2b(canonical_bytes({"a": 2, "b": 1})).hexdigest()


@pytest.mark.parametrize(
    ("name", "value", "path"),
    [
        ("json.transform", {"data": {}}, "/"),
        ("json.transform", {"expression": "a", "extra": 1}, "/"),
        ("hash", {"data": "x", "algorithm": "md5"}, "/algorithm"),
        ("json.validate", {"schema": "nope"}, "/schema"),
    ],
)
def test_input_that_does_not_fit_the_function_fails_naming_the_problem(
    name: str, value: Any, path: str
) -> None:
    result = BuiltinRuntime().run(_request(name, value))
    assert result.outcome is Outcome.FAILED
    assert next(p["path"] for p in result.details["problems"]) == path


def test_an_unknown_builtin_is_a_policy_violation_naming_the_known_ones() -> None:
    result = BuiltinRuntime().run(_request("rm-rf", {}))
    assert result.outcome is Outcome.POLICY_VIOLATION
    assert result.details["known"] == sorted(BUILTINS)
    with pytest.raises(InvalidInput) as refused:
        builtin_named("rm-rf")
    assert refused.value.code == "VALIDATION_ERROR"
    assert refused.value.details["known"] == sorted(BUILTINS)


def test_a_cast_canceled_before_it_starts_does_not_run() -> None:
    cancel = threading.Event()
    cancel.set()
    result = BuiltinRuntime().run(_request("echo", {"a": 1}, cancel=cancel))
    assert result.outcome is Outcome.CANCELED
    assert result.output is None


def test_output_over_the_limit_is_refused() -> None:
    result = BuiltinRuntime().run(_request("echo", {"a": "x" * 100}, limits=Limits(max_stdout_bytes=50)))
    assert result.outcome is Outcome.OUTPUT_LIMIT
    assert result.output is None
    assert result.usage.output_bytes > 50


def test_every_builtin_describes_itself_with_a_valid_schema() -> None:
    from spell.kit.json_schema import compile_schema

    for builtin in BUILTINS.values():
        compile_schema(builtin.input_schema)
        assert builtin.to_dict()["name"] == builtin.name
        assert builtin.summary
