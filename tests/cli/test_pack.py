from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.bundle.factories import compat_expected, copy_compat_bundle, make_host_bundle
from tests.cli.run_cli import run_cli


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


def test_pack_twice_gives_the_same_sha256(tmp_path: Path) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    first = run_cli("pack", str(bundle), "-o", "one.tar", "--json")
    (bundle / "schema.json").touch()
    second = run_cli("pack", str(bundle), "-o", "two.tar", "--json")
    assert first.exit_code == second.exit_code == 0
    assert first.json()["archive_sha256"] == second.json()["archive_sha256"]
    assert first.json()["archive_sha256"] == hashlib.sha256(Path("one.tar").read_bytes()).hexdigest()
    assert first.json()["digest"] == "sha256:" + compat_expected()["digest_sha256_hex"]


def test_pack_default_output_is_named_after_the_spell(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "hello")
    result = run_cli("pack", str(bundle))
    assert result.exit_code == 0
    assert Path("acme__hello-1.0.0.tar").is_file()
    assert "archive_sha256: " in result.stdout


def test_pack_of_a_bundle_with_a_symlink_fails_on_stderr(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "hello")
    (bundle / "steps" / "evil").symlink_to("/etc/passwd")
    result = run_cli("pack", str(bundle), "--json")
    assert result.exit_code == 6
    assert result.error()["code"] == "INVALID_BUNDLE"
    assert result.stdout == ""


def test_pack_of_a_folder_without_manifest_fails(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run_cli("pack", str(tmp_path / "empty"), "--json")
    assert result.exit_code == 6
    assert result.error()["code"] == "INVALID_MANIFEST"


def test_pack_help_teaches() -> None:
    result = run_cli("pack", "--help")
    assert result.exit_code == 0
    assert "same sha256" in result.stdout
