from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bundle.spells import make_git_repo, snapshot
from tests.cli.run_cli import run_cli, table_rows


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SPELL_REGISTRY_REQUIRED_PINS", raising=False)
    return tmp_path / "home"


def _index(tmp_path: Path, spells: list[dict[str, str]], name: str = "index.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps({"version": "v1", "spells": spells}))
    return path.as_uri()


def test_set_show_add_remove(home: Path) -> None:
    assert run_cli("registry", "show").stdout == "No registry indexes configured\n"
    assert (
        run_cli("registry", "set", "https://r.example.test/i.json").stdout
        == "default\thttps://r.example.test/i.json\n"
    )
    assert run_cli("registry", "add", "mirror", "https://m.example.test/i.json").stdout == (
        "mirror\thttps://m.example.test/i.json\n"
    )
    assert table_rows(run_cli("registry", "show").stdout) == [
        ["name", "url"],
        ["default", "https://r.example.test/i.json"],
        ["mirror", "https://m.example.test/i.json"],
    ]
    assert [i["name"] for i in run_cli("registry", "show", "--json").json()["indexes"]] == [
        "default",
        "mirror",
    ]
    assert run_cli("registry", "remove", "mirror").stdout == "removed\tmirror\n"
    assert json.loads((home / "registry.json").read_text())["indexes"] == [
        {"name": "default", "url": "https://r.example.test/i.json"}
    ]


def test_registry_refusals_leave_the_config_untouched(home: Path) -> None:
    run_cli("registry", "set", "https://r.example.test/i.json")
    before = snapshot(home)
    for args, code in (
        (("remove", "default"), "VALIDATION_ERROR"),
        (("remove", "nope"), "REGISTRY_NOT_FOUND"),
        (("add", "default", "https://x.example.test/i.json"), "ALREADY_EXISTS"),
        (("set", "not a url"), "INVALID_REGISTRY"),
        (("validate", "--name", "nope"), "REGISTRY_NOT_FOUND"),
    ):
        result = run_cli("registry", *args, "--json")
        assert result.exit_code != 0
        assert result.error()["code"] == code
    assert snapshot(home) == before


def test_a_hand_edited_config_is_invalid(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "registry.json").write_text('{"version": "v1", "indexes": "nope"}')
    result = run_cli("registry", "show", "--json")
    assert result.error()["code"] == "INVALID_REGISTRY"


def test_validate_counts_spells_and_names_the_failing_index(home: Path, tmp_path: Path) -> None:
    good = _index(tmp_path, [{"id": "a/b", "version": "1.0.0", "source": "https://x/r.git#v1"}])
    run_cli("registry", "set", good)
    assert table_rows(run_cli("registry", "validate").stdout) == [
        ["name", "url", "spells"],
        ["default", good, "1"],
    ]
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": "v1"}')
    run_cli("registry", "add", "broken", bad.as_uri())
    assert run_cli("registry", "validate", "--name", "default", "--json").json()[0]["spell_count"] == 1
    result = run_cli("registry", "validate", "--json")
    assert result.exit_code == 6
    assert result.error()["code"] == "INVALID_REGISTRY"
    assert "broken" in result.error()["message"]


def test_resolve_shows_the_concrete_entry_and_applies_the_pin_policy(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit = make_git_repo(tmp_path / "repo")
    spells = [
        {
            "id": "acme/hello",
            "version": "1.0.0",
            "source": f"file://{tmp_path / 'repo'}#v1",
            "commit": commit,
        },
        {"id": "acme/hello", "version": "1.2.0", "source": f"file://{tmp_path / 'repo'}#v1"},
    ]
    run_cli("registry", "set", _index(tmp_path, spells))
    result = run_cli("registry", "resolve", "registry:acme/hello@1.0.0", "--json")
    assert result.error()["code"] == "PIN_REQUIRED"
    monkeypatch.setenv("SPELL_REGISTRY_REQUIRED_PINS", "commit")
    data = run_cli("registry", "resolve", "registry:acme/hello@1.0.0", "--json").json()
    assert (data["version"], data["commit"], data["index"]) == ("1.0.0", commit, "default")
    monkeypatch.setenv("SPELL_REGISTRY_REQUIRED_PINS", "none")
    lines = run_cli("registry", "resolve", "registry:acme/hello").stdout.splitlines()
    assert lines[0].startswith("registry\tdefault\t")
    assert lines[1:] == [
        "id@version\tacme/hello@1.2.0",
        f"source\tfile://{tmp_path / 'repo'}#v1",
        "commit\t-",
        "digest\t-",
    ]
