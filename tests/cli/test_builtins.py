"""``spell builtins`` lists the functions, and a builtin spell casts here exactly as on a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from spell.config.home import SpellHome
from spell.runtimes.builtin import BUILTINS
from tests.cli.run_cli import run_cli
from tests.fixtures.bundles import builtin_bundle
from tests.local.harness import install, use_home


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SpellHome:
    return use_home(tmp_path, monkeypatch)


def test_builtins_lists_every_function_with_its_schema() -> None:
    result = run_cli("builtins", "--json")
    assert result.exit_code == 0, result.stderr
    assert [item["name"] for item in result.json()] == list(BUILTINS)
    assert all("input_schema" in item for item in result.json())
    text = run_cli("builtins", "--schema").stdout
    assert "json.transform" in text
    assert '"expression"' in text


def test_a_builtin_spell_casts_locally(tmp_path: Path, home: SpellHome) -> None:
    install(builtin_bundle(tmp_path / "pick", "samples/pick"))
    input_file = tmp_path / "in.json"
    input_file.write_text('{"data": {"a": {"b": [1, 2, 3]}}, "expression": "a.b[-1]"}')
    result = run_cli("cast", "samples/pick", "--input", str(input_file), "--json")
    assert result.exit_code == 0, result.stderr
    body = result.json()
    assert body["outcome"] == "SUCCEEDED"
    assert body["output"] == {"result": 3}
    assert run_cli("get-output", body["execution_id"], "output", "--json").json()["value"] == {"result": 3}


def test_a_builtin_spell_with_input_the_function_refuses_fails(tmp_path: Path, home: SpellHome) -> None:
    install(builtin_bundle(tmp_path / "pick", "samples/pick"))
    result = run_cli("cast", "samples/pick", "-p", "data=1", "--json")
    assert result.exit_code != 0
    assert result.json()["outcome"] == "FAILED"
