from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from spell.bundle.digest import bundle_digest
from spell.bundle.loaders import load_manifest
from spell.bundle.provenance import SourceRecord
from spell.bundle.store import LocalStore, version_key
from spell.errors import SpellError
from spell.kit.encoding import storage_key
from spell.kit.time import utcnow
from tests.bundle.spells import snapshot, write_spell


def _add(store: LocalStore, bundle: Path, *, force: bool = False) -> str:
    manifest = load_manifest(bundle)
    digest = bundle_digest(bundle, manifest).text
    record = SourceRecord(kind="local", source=str(bundle), installed_at=utcnow(), digest=digest)
    return store.add(bundle, manifest, record, force=force).status


def test_add_then_resolve_returns_manifest_and_provenance(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "spells")
    bundle = write_spell(tmp_path / "b")
    assert _add(store, bundle) == "installed"
    spell = store.resolve("acme/hello")
    assert spell.version == "1.0.0"
    assert spell.path == tmp_path / "spells" / storage_key("acme/hello") / "1.0.0"
    assert (spell.path.parent / "spell.id.txt").read_text() == "acme/hello\n"
    assert spell.source is not None
    assert spell.source.kind == "local"
    assert spell.source.digest == bundle_digest(bundle, spell.manifest).text
    assert os.access(spell.path / "steps" / "hello.sh", os.X_OK)
    data = json.loads((spell.path / "source.json").read_text())
    assert data["type"] == "local"
    assert data["installed_at"].endswith("Z")


def test_resolve_without_version_picks_the_highest_semver(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "spells")
    for version in ("1.9.0", "1.10.0", "1.2.3"):
        _add(store, write_spell(tmp_path / version, version=version))
    assert store.resolve("acme/hello").version == "1.10.0"
    assert store.resolve("acme/hello", "1.9.0").version == "1.9.0"
    assert store.versions("acme/hello") == ["1.2.3", "1.9.0", "1.10.0"]


def test_resolve_unknown_spell_or_version_raises_not_found_codes(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "spells")
    with pytest.raises(SpellError) as missing:
        store.resolve("acme/nothing")
    assert missing.value.code == "SPELL_NOT_FOUND"
    _add(store, write_spell(tmp_path / "b"))
    with pytest.raises(SpellError) as version:
        store.resolve("acme/hello", "9.9.9")
    assert version.value.code == "VERSION_NOT_FOUND"


def test_a_mismatched_id_file_is_an_error_on_read_and_on_add(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "spells")
    _add(store, write_spell(tmp_path / "b"))
    (store.id_dir("acme/hello") / "spell.id.txt").write_text("acme/other\n")
    with pytest.raises(SpellError) as on_read:
        store.resolve("acme/hello")
    assert on_read.value.code == "STORE_INCONSISTENT"
    before = snapshot(store.root)
    with pytest.raises(SpellError) as on_add:
        _add(store, write_spell(tmp_path / "c", version="2.0.0"))
    assert on_add.value.code == "STORE_INCONSISTENT"
    assert snapshot(store.root) == before


def test_adding_the_same_digest_again_is_a_no_op(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "spells")
    bundle = write_spell(tmp_path / "b")
    _add(store, bundle)
    before = snapshot(store.root)
    assert _add(store, bundle) == "unchanged"
    assert snapshot(store.root) == before


def test_a_different_digest_at_an_installed_version_needs_force(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "spells")
    _add(store, write_spell(tmp_path / "a", text="one"))
    before = snapshot(store.root)
    changed = write_spell(tmp_path / "b", text="two")
    with pytest.raises(SpellError) as exc:
        _add(store, changed)
    assert exc.value.code == "ALREADY_EXISTS"
    assert snapshot(store.root) == before
    assert _add(store, changed, force=True) == "replaced"
    assert "two" in (store.resolve("acme/hello").path / "steps" / "hello.sh").read_text()
    assert not [p for p in store.root.iterdir() if p.name.startswith(".")]


def test_a_symlink_in_the_bundle_is_refused_and_nothing_is_left_behind(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "spells")
    bundle = write_spell(tmp_path / "b")
    (bundle / "steps" / "link").symlink_to("/etc/passwd")
    with pytest.raises(SpellError) as exc:
        _add(store, bundle)
    assert exc.value.code == "INVALID_BUNDLE"
    assert snapshot(store.root) == {}


def test_top_level_dot_entries_are_not_copied(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "spells")
    bundle = write_spell(tmp_path / "b")
    (bundle / ".spell-keys").mkdir()
    (bundle / ".spell-keys" / "acme__default.private.pem").write_text("secret")
    _add(store, bundle)
    assert not (store.resolve("acme/hello").path / ".spell-keys").exists()


def test_list_and_remove(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "spells")
    assert store.list() == []
    _add(store, write_spell(tmp_path / "a", version="1.0.0"))
    _add(store, write_spell(tmp_path / "b", version="2.0.0"))
    _add(store, write_spell(tmp_path / "c", spell_id="acme/bye"))
    assert [(s.id, s.version) for s in store.list()] == [
        ("acme/bye", "1.0.0"),
        ("acme/hello", "1.0.0"),
        ("acme/hello", "2.0.0"),
    ]
    assert store.remove("acme/hello", "1.0.0") == ["1.0.0"]
    assert store.versions("acme/hello") == ["2.0.0"]
    with pytest.raises(SpellError) as exc:
        store.remove("acme/hello", "1.0.0")
    assert exc.value.code == "VERSION_NOT_FOUND"
    assert store.remove("acme/hello") == ["2.0.0"]
    assert not store.id_dir("acme/hello").exists()
    assert [s.id for s in store.list()] == ["acme/bye"]


def test_a_corrupt_source_file_is_reported(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "spells")
    _add(store, write_spell(tmp_path / "b"))
    source = store.id_dir("acme/hello") / "1.0.0" / "source.json"
    source.write_text("{not json")
    with pytest.raises(SpellError) as bad_json:
        store.resolve("acme/hello")
    assert bad_json.value.code == "STORE_INCONSISTENT"
    source.write_text('{"type": "local"}')
    with pytest.raises(SpellError) as missing_keys:
        store.resolve("acme/hello")
    assert missing_keys.value.code == "STORE_INCONSISTENT"


def test_a_manifest_that_disagrees_with_its_folder_is_reported(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "spells")
    _add(store, write_spell(tmp_path / "b"))
    path = store.id_dir("acme/hello") / "1.0.0" / "spell.yaml"
    path.write_text(path.read_text().replace("version: 1.0.0", "version: 1.0.1"))
    with pytest.raises(SpellError) as exc:
        store.resolve("acme/hello")
    assert exc.value.code == "STORE_INCONSISTENT"


def test_version_key_orders_numerically_and_rejects_other_text() -> None:
    assert version_key("1.10.0") == (1, 10, 0)
    assert version_key("1.2") is None
    assert version_key("latest") is None


def test_an_id_folder_created_meanwhile_is_joined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStore(tmp_path / "spells")
    _add(store, write_spell(tmp_path / "a", version="1.0.0"))
    real_exists = Path.exists
    id_dir = store.id_dir("acme/hello")

    def stale_exists(self: Path) -> bool:  # the id folder "appears" between the check and the rename
        return False if self == id_dir else real_exists(self)

    monkeypatch.setattr(Path, "exists", stale_exists)
    assert _add(store, write_spell(tmp_path / "b", version="2.0.0")) == "installed"
    monkeypatch.undo()
    assert store.versions("acme/hello") == ["1.0.0", "2.0.0"]


def test_a_missing_id_file_is_reported_by_list(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "spells")
    _add(store, write_spell(tmp_path / "a"))
    (store.id_dir("acme/hello") / "spell.id.txt").unlink()
    with pytest.raises(SpellError) as exc:
        store.list()
    assert exc.value.code == "STORE_INCONSISTENT"


def test_the_store_compares_the_file_signing_writes() -> None:
    from spell.bundle import store
    from spell.signing.signature import SIGNATURE_FILE

    assert store._SIGNATURE_FILE == SIGNATURE_FILE
