"""Hostile manifests: a YAML billion laughs, unknown runtimes, bad versions and unknown TOML keys named
by their path, nesting deep enough to crash a recursive reader; each one clear error naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.foundation.hostile import BILLION_LAUGHS, DEEP, assert_refused, spell_yaml_bundle


def test_a_yaml_billion_laughs_is_refused_by_every_command_that_reads_it(home: Path, tmp_path: Path) -> None:
    bundle = spell_yaml_bundle(tmp_path, text=BILLION_LAUGHS)
    for args in (("install", str(bundle)), ("verify", "--path", str(bundle)), ("pack", str(bundle))):
        error = assert_refused(home, "INVALID_MANIFEST", *args).error()
        assert error["details"]["file"] == "spell.yaml"
    assert list(tmp_path.glob("*.tar")) == []


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("execution: host", "execution: jvm", "runtime.execution"),
        ("version: 1.0.0", "version: 1.0", "version"),
        ("version: 1.0.0", "version: v1.0.0-beta", "version"),
        ("version: 1.0.0", "version: 2", "version"),
    ],
    ids=["unknown-runtime", "two-part-version", "prefixed-version", "number-version"],
)
def test_a_manifest_with_an_unknown_runtime_or_bad_version_is_refused_naming_the_field(
    home: Path, tmp_path: Path, old: str, new: str, field: str
) -> None:
    bundle = spell_yaml_bundle(tmp_path, {old: new})
    error = assert_refused(home, "INVALID_MANIFEST", "install", str(bundle)).error()
    assert error["details"]["file"] == "spell.yaml"
    assert any(problem["path"].startswith(field) for problem in error["details"]["errors"]), error
    assert error["message"].startswith(f"spell.yaml: {field}")
    expected = (
        "'host', 'docker', 'wasm', 'builtin', 'api' or 'workflow'"
        if field == "runtime.execution"
        else "(x.y.z)"
    )
    assert expected in error["message"]  # what was expected, not only that it was wrong


def test_a_toml_manifest_with_an_unknown_runtime_or_bad_version_is_refused(
    home: Path, tmp_path: Path
) -> None:
    bundle = tmp_path / "toml"
    bundle.mkdir()
    (bundle / "schema.json").write_text("{}\n", encoding="utf-8")
    for runtime, version, field in (("jvm", "1.0.0", "runtime.execution"), ("wasm", "one", "version")):
        (bundle / "manifest.toml").write_text(
            f'[spell]\nkey = "acme/t"\nname = "T"\nversion = "{version}"\n\n'
            f'[runtime]\nexecution = "{runtime}"\n',
            encoding="utf-8",
        )
        error = assert_refused(home, "INVALID_MANIFEST", "install", str(bundle)).error()
        assert error["details"]["file"] == "manifest.toml"
        assert any(p["path"].startswith(field) for p in error["details"]["errors"]), error


@pytest.mark.parametrize(
    ("section", "line", "path"),
    [
        ("spell", "billing = { enabled = false }", "spell.billing"),
        ("runtime", "timeout = 5", "runtime.timeout"),
    ],
)
def test_an_unknown_toml_key_is_named_by_its_section_path(
    home: Path, tmp_path: Path, section: str, line: str, path: str
) -> None:
    bundle = tmp_path / "toml"
    bundle.mkdir()
    (bundle / "schema.json").write_text("{}\n", encoding="utf-8")
    (bundle / "module.wasm").write_bytes(b"\0asm\1\0\0\0")
    sections = {"spell": 'key = "acme/t"\nname = "T"\nversion = "1.0.0"', "runtime": 'entry = "module.wasm"'}
    sections[section] += f"\n{line}"
    text = "".join(f"[{name}]\n{body}\n\n" for name, body in sections.items())
    (bundle / "manifest.toml").write_text(text, encoding="utf-8")
    error = assert_refused(home, "INVALID_MANIFEST", "install", str(bundle)).error()
    assert [problem["path"] for problem in error["details"]["errors"]] == [path]
    assert error["message"] == f"manifest.toml: {path}: unknown key in [{section}]"


def test_a_deeply_nested_manifest_is_refused_not_a_crash(home: Path, tmp_path: Path) -> None:
    yaml_bundle = spell_yaml_bundle(tmp_path, text=f"id: {DEEP}\n")
    assert_refused(home, "INVALID_MANIFEST", "install", str(yaml_bundle))
    toml_bundle = tmp_path / "toml"
    toml_bundle.mkdir()
    (toml_bundle / "manifest.toml").write_text(f"[spell]\nkey = {DEEP}\n", encoding="utf-8")
    assert_refused(home, "INVALID_MANIFEST", "install", str(toml_bundle))
