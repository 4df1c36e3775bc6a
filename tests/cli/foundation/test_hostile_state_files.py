"""Deeply nested JSON in any file the CLI keeps (policy, signature, entitlement, registry, licences,
store records) is one clear error, never a crash."""

from __future__ import annotations

from pathlib import Path

from spell.kit.encoding import b64url_encode, storage_key
from tests.bundle.factories import copy_compat_bundle
from tests.cli.foundation.hostile import DEEP, EXPECTED, assert_refused
from tests.cli.run_cli import run_cli


def test_deeply_nested_json_in_any_state_file_is_one_clear_error(home: Path, tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text(DEEP, encoding="utf-8")
    assert_refused(home, "INVALID_POLICY", "policy", "set", "--file", str(deep))

    bundle = copy_compat_bundle(tmp_path / "greet")
    (bundle / "spell.sig.json").write_text(DEEP, encoding="utf-8")
    error = assert_refused(home, "SIGNATURE_INVALID", "verify", "--path", str(bundle)).error()
    assert error["details"]["status"] == "invalid"

    payload = b64url_encode(("[" * 5_000 + "]" * 5_000).encode())
    assert_refused(home, "ENTITLEMENT_INVALID", "license", "add", "team", f"ent1.{payload}.c2ln")

    (home / "registry.json").write_text(DEEP, encoding="utf-8")
    assert_refused(home, "INVALID_REGISTRY", "registry", "show")

    licenses = home / "licenses"
    licenses.mkdir()
    (licenses / f"{storage_key('team')}.json").write_text(DEEP, encoding="utf-8")
    assert_refused(home, "VALIDATION_ERROR", "license", "inspect", "team")
    assert run_cli("license", "list", "--json").json() == []  # unreadable records are skipped

    source = home / "spells" / storage_key("compat/greet") / EXPECTED["version"] / "source.json"
    source.write_text(DEEP, encoding="utf-8")
    assert_refused(home, "STORE_INCONSISTENT", "list")
