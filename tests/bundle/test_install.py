from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from spell.bundle.archive import pack_bundle
from spell.bundle.digest import bundle_digest
from spell.bundle.install import install
from spell.bundle.loaders import load_manifest
from spell.bundle.manifest import SpellManifest
from spell.bundle.sources import FetchContext, source_kind
from spell.bundle.store import LocalStore
from spell.errors import SpellError
from tests.bundle.spells import make_git_repo, snapshot, write_spell


def _store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "home" / "spells")


def _refused(tmp_path: Path, source: str, ctx: FetchContext | None = None) -> str:
    store = _store(tmp_path)
    before = snapshot(store.root)
    with pytest.raises(SpellError) as exc:
        install(source, store, ctx or FetchContext())
    assert snapshot(store.root) == before
    return exc.value.code


def _status(_root: Path, _manifest: SpellManifest) -> str:
    return "unsigned"


def test_install_from_a_folder_records_digest_and_signature_status(tmp_path: Path) -> None:
    bundle = write_spell(tmp_path / "b")
    outcome = install(str(bundle), _store(tmp_path), FetchContext(), signature_check=_status)
    source = outcome.spell.source
    assert outcome.status == "installed"
    assert source is not None
    assert source.kind == "local"
    assert source.signature == "unsigned"
    assert source.digest == bundle_digest(bundle, load_manifest(bundle)).text


def test_install_from_a_tar_archive(tmp_path: Path) -> None:
    archive = tmp_path / "hello.tar"
    archive.write_bytes(pack_bundle(write_spell(tmp_path / "b")))
    outcome = install(str(archive), _store(tmp_path), FetchContext())
    assert outcome.spell.source is not None
    assert outcome.spell.source.kind == "archive"
    assert source_kind(str(archive)) == "archive"


def test_an_archive_with_a_parent_path_is_refused_before_the_store_changes(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("../evil.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    archive = tmp_path / "evil.tar"
    archive.write_bytes(buffer.getvalue())
    assert _refused(tmp_path, str(archive)) == "UNSAFE_ARCHIVE"
    assert not (tmp_path / "evil.txt").exists()


def test_a_bad_manifest_is_refused_and_the_store_is_untouched(tmp_path: Path) -> None:
    bundle = write_spell(tmp_path / "b")
    yaml = bundle / "spell.yaml"
    yaml.write_text(yaml.read_text().replace("execution: host", "execution: quantum"))
    assert _refused(tmp_path, str(bundle)) == "INVALID_MANIFEST"


def test_a_bundle_whose_digest_cannot_be_computed_is_refused(tmp_path: Path) -> None:
    bundle = write_spell(tmp_path / "b")
    (bundle / "schema.json").unlink()
    assert _refused(tmp_path, str(bundle)) == "INVALID_BUNDLE"


def test_a_missing_path_or_a_plain_file_is_refused(tmp_path: Path) -> None:
    assert _refused(tmp_path, str(tmp_path / "nope")) == "VALIDATION_ERROR"
    plain = tmp_path / "notes.txt"
    plain.write_text("x")
    assert _refused(tmp_path, str(plain)) == "INVALID_BUNDLE"


def test_install_from_git_records_ref_and_commit(tmp_path: Path) -> None:
    commit = make_git_repo(tmp_path / "repo")
    lines: list[str] = []
    source = f"file://{tmp_path / 'repo'}#v1"
    outcome = install(source, _store(tmp_path), FetchContext(progress=lines.append))
    record = outcome.spell.source
    assert record is not None
    assert (record.kind, record.ref, record.commit) == ("git", "v1", commit)
    assert any("cloning" in line for line in lines)
    data = json.loads((outcome.spell.path / "source.json").read_text())
    assert data["commit"] == commit
    assert data["source"] == source
    assert not (outcome.spell.path / ".git").exists()


def test_a_git_source_without_ref_is_refused(tmp_path: Path) -> None:
    make_git_repo(tmp_path / "repo")
    assert _refused(tmp_path, f"file://{tmp_path / 'repo'}") == "VALIDATION_ERROR"


def test_a_git_ref_that_does_not_exist_is_a_fetch_failure(tmp_path: Path) -> None:
    make_git_repo(tmp_path / "repo")
    assert _refused(tmp_path, f"file://{tmp_path / 'repo'}#no-such-tag") == "FETCH_FAILED"


def test_a_missing_git_executable_is_engine_unavailable(tmp_path: Path) -> None:
    ctx = FetchContext(git=str(tmp_path / "no-git"))
    assert _refused(tmp_path, "https://example.invalid/repo.git#main", ctx) == "ENGINE_UNAVAILABLE"


def test_oci_without_a_docker_engine_is_engine_unavailable(tmp_path: Path) -> None:
    assert _refused(tmp_path, "oci:ghcr.io/acme/hello:1.0.0") == "ENGINE_UNAVAILABLE"
    missing = FetchContext(docker=str(tmp_path / "no-docker"))
    assert _refused(tmp_path, "oci:ghcr.io/acme/hello:1.0.0", missing) == "ENGINE_UNAVAILABLE"


def test_an_empty_oci_reference_is_invalid_input(tmp_path: Path) -> None:
    assert _refused(tmp_path, "oci:") == "VALIDATION_ERROR"


def _fake_docker(tmp_path: Path, image_root: Path, *, create_fails: bool = False) -> Path:
    """A stand-in for the docker CLI: answers version, create, cp (from ``image_root``) and rm."""
    log = tmp_path / "docker.log"
    script = tmp_path / "docker"
    create = 'echo "no such image" >&2; exit 1' if create_fails else "echo cid-1"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> "{log}"\n'
        'case "$1" in\n'
        "  version) echo 24.0.7 ;;\n"
        f"  create) {create} ;;\n"
        f'  cp) cp -R "{image_root}/." "$3" ;;\n'
        "  rm) exit 0 ;;\n"
        "esac\n"
    )
    script.chmod(0o755)
    return script


def test_oci_install_copies_slash_spell_out_of_the_image_and_removes_the_container(tmp_path: Path) -> None:
    docker = _fake_docker(tmp_path, write_spell(tmp_path / "image-spell"))
    outcome = install("oci:ghcr.io/acme/hello:1.0.0", _store(tmp_path), FetchContext(docker=str(docker)))
    record = outcome.spell.source
    assert record is not None
    assert (record.kind, record.image) == ("oci", "ghcr.io/acme/hello:1.0.0")
    calls = (tmp_path / "docker.log").read_text().splitlines()
    assert calls[1:] == [
        "create ghcr.io/acme/hello:1.0.0",
        f"cp cid-1:/spell/. {calls[2].split()[-1]}",
        "rm -f cid-1",
    ]


def test_an_oci_image_that_cannot_be_created_is_a_fetch_failure(tmp_path: Path) -> None:
    docker = _fake_docker(tmp_path, tmp_path, create_fails=True)
    ctx = FetchContext(docker=str(docker))
    assert _refused(tmp_path, "oci:ghcr.io/acme/missing:1.0.0", ctx) == "FETCH_FAILED"
