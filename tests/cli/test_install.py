from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from spell.bundle.archive import pack_bundle
from tests.bundle.factories import compat_expected, copy_compat_bundle
from tests.bundle.spells import make_git_repo, snapshot, write_spell
from tests.cli.run_cli import run_cli


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SPELL_REGISTRY_REQUIRED_PINS", raising=False)
    return tmp_path / "home"


def _refused(home: Path, *args: str) -> dict[str, object]:
    before = snapshot(home)
    result = run_cli("install", *args, "--json")
    assert result.exit_code != 0
    assert result.stdout == ""
    assert snapshot(home) == before
    return result.error()


def test_install_a_folder_prints_id_at_version(home: Path, tmp_path: Path) -> None:
    result = run_cli("install", str(write_spell(tmp_path / "b")))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "acme/hello@1.0.0"
    assert "signature: unsigned" in result.stdout


def test_install_records_a_verified_signature_once_the_key_is_trusted(home: Path, tmp_path: Path) -> None:
    expected = compat_expected()
    run_cli("trust", "add", "compat", expected["public_key_base64url"], "--key-id", "k1")
    bundle = copy_compat_bundle(tmp_path / "greet")
    data = run_cli("install", str(bundle), "--json").json()
    assert data["source"]["signature"] == "verified"
    assert data["source"]["digest"] == f"sha256:{expected['digest_sha256_hex']}"
    assert data["status"] == "installed"


def test_installing_the_same_bundle_twice_is_unchanged_and_a_changed_one_needs_force(
    home: Path, tmp_path: Path
) -> None:
    run_cli("install", str(write_spell(tmp_path / "a", text="one")))
    assert (
        run_cli("install", str(write_spell(tmp_path / "a", text="one")), "--json").json()["status"]
        == "unchanged"
    )
    changed = write_spell(tmp_path / "b", text="two")
    assert _refused(home, str(changed))["code"] == "ALREADY_EXISTS"
    assert run_cli("install", str(changed), "--force", "--json").json()["status"] == "replaced"


def test_install_from_git_shows_progress_on_stderr(home: Path, tmp_path: Path) -> None:
    commit = make_git_repo(tmp_path / "repo")
    result = run_cli("install", f"file://{tmp_path / 'repo'}#v1")
    assert result.exit_code == 0
    assert "cloning" in result.stderr
    assert run_cli("inspect", "acme/hello", "--json").json()["source"]["commit"] == commit


def _tar(name: str, kind: bytes = tarfile.REGTYPE, size: int = 1, link: str = "") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = link
        info.size = size if kind == tarfile.REGTYPE else 0
        tar.addfile(info, io.BytesIO(b"x" * info.size) if info.size else None)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "archive",
    [
        _tar("../evil.txt"),
        _tar("/etc/evil.txt"),
        _tar("steps/link", tarfile.SYMTYPE, link="/etc/passwd"),
        _tar("steps/hard", tarfile.LNKTYPE, link="spell.yaml"),
        _tar("steps/dev", tarfile.CHRTYPE),
    ],
    ids=["parent", "absolute", "symlink", "hardlink", "device"],
)
def test_hostile_archives_are_refused_and_leave_the_store_untouched(
    home: Path, tmp_path: Path, archive: bytes
) -> None:
    run_cli("install", str(write_spell(tmp_path / "ok")))
    path = tmp_path / "evil.tar"
    path.write_bytes(archive)
    assert _refused(home, str(path))["code"] == "UNSAFE_ARCHIVE"


def test_an_archive_declaring_a_terabyte_is_refused(home: Path, tmp_path: Path) -> None:
    header = bytearray(_tar("big.bin", size=1)[:512])
    header[124:136] = b"%011o\0" % (1 << 40)
    header[148:156] = b"        "
    header[148:156] = b"%06o\0 " % sum(header)
    path = tmp_path / "big.tar"
    path.write_bytes(bytes(header) + b"\0" * 1024)
    assert _refused(home, str(path))["code"] == "UNSAFE_ARCHIVE"


def test_an_archive_with_too_many_entries_is_refused(home: Path, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for index in range(100_000):
            tar.addfile(tarfile.TarInfo(f"steps/f{index}"), io.BytesIO(b""))
    path = tmp_path / "many.tar"
    path.write_bytes(buffer.getvalue())
    assert _refused(home, str(path))["code"] == "UNSAFE_ARCHIVE"


def test_a_good_archive_installs(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "hello.tar"
    path.write_bytes(pack_bundle(write_spell(tmp_path / "b")))
    assert run_cli("install", str(path), "--json").json()["source"]["type"] == "archive"


def test_a_yaml_bomb_an_unknown_runtime_and_a_bad_version_are_refused(home: Path, tmp_path: Path) -> None:
    bundle = write_spell(tmp_path / "b")
    yaml = bundle / "spell.yaml"
    original = yaml.read_text()
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
    bomb += "".join(
        f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=False)
    )
    for text in (bomb, original.replace("host", "quantum"), original.replace("1.0.0", "1.0")):
        yaml.write_text(text)
        assert _refused(home, str(bundle))["code"] == "INVALID_MANIFEST"


def test_git_without_ref_oci_without_docker_and_missing_paths_fail_clearly(
    home: Path, tmp_path: Path
) -> None:
    make_git_repo(tmp_path / "repo")
    assert _refused(home, f"file://{tmp_path / 'repo'}")["code"] == "VALIDATION_ERROR"
    assert _refused(home, "oci:ghcr.io/acme/hello:1.0.0")["code"] == "ENGINE_UNAVAILABLE"
    assert _refused(home, str(tmp_path / "missing"))["code"] == "VALIDATION_ERROR"


def test_a_registry_install_honours_the_pin_setting(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    make_git_repo(repo)
    index = tmp_path / "index.json"
    spell = {"id": "acme/hello", "version": "1.0.0", "source": f"file://{repo}#v1"}
    index.write_text(json.dumps({"version": "v1", "spells": [spell]}))
    assert run_cli("registry", "set", index.as_uri()).exit_code == 0
    assert _refused(home, "registry:acme/hello@1.0.0")["code"] == "PIN_REQUIRED"
    monkeypatch.setenv("SPELL_REGISTRY_REQUIRED_PINS", "bogus")
    assert _refused(home, "registry:acme/hello@1.0.0")["code"] == "VALIDATION_ERROR"
    monkeypatch.setenv("SPELL_REGISTRY_REQUIRED_PINS", "none")
    result = run_cli("install", "registry:acme/hello@latest")
    assert result.exit_code == 0
    assert "fetching registry index" in result.stderr
    assert run_cli("list", "--json").json()[0]["source"] == "registry"


def test_a_changed_byte_after_signing_is_recorded_as_invalid(home: Path, tmp_path: Path) -> None:
    expected = compat_expected()
    run_cli("trust", "add", "compat", expected["public_key_base64url"], "--key-id", "k1")
    bundle = copy_compat_bundle(tmp_path / "greet")
    script = bundle / "steps" / "greet.sh"
    script.write_bytes(script.read_bytes() + b"\n")
    data = run_cli("install", str(bundle), "--json").json()
    assert data["source"]["signature"] == "invalid"
    assert run_cli("verify", "compat/greet", "--json").error()["code"] == "SIGNATURE_INVALID"


def test_a_nonsense_trust_file_stops_the_install_before_the_store_changes(home: Path, tmp_path: Path) -> None:
    expected = compat_expected()
    run_cli("trust", "add", "compat", expected["public_key_base64url"], "--key-id", "k1")
    (home / "trust" / "publishers" / expected["trust_file_name"]).write_text("{nonsense")
    bundle = copy_compat_bundle(tmp_path / "greet")
    assert _refused(home, str(bundle))["code"] == "INVALID_TRUST_FILE"


def test_a_new_signature_of_the_same_files_is_installed_without_force(home: Path, tmp_path: Path) -> None:
    bundle = write_spell(tmp_path / "a", text="one")
    assert run_cli("install", str(bundle), "--json").json()["source"]["signature"] == "unsigned"

    keys = tmp_path / "keys"
    run_cli("sign", "keygen", "acme", "--key-id", "k1", "--out-dir", str(keys))
    public = (keys / "acme__k1.public.b64url.txt").read_text().strip()
    run_cli("trust", "add", "acme", public, "--key-id", "k1")
    run_cli(
        "sign", "bundle", str(bundle), "--private-key", str(keys / "acme__k1.private.pem"), "--key-id", "k1"
    )
    resigned = run_cli("install", str(bundle))
    assert resigned.exit_code == 0, resigned.stderr
    assert "signature changed" in resigned.stdout
    assert run_cli("inspect", "acme/hello", "--json").json()["source"]["signature"] == "verified"
    assert run_cli("install", str(bundle), "--json").json()["status"] == "unchanged"

    run_cli("sign", "keygen", "acme", "--key-id", "k2", "--out-dir", str(keys))
    run_cli(
        "sign", "bundle", str(bundle), "--private-key", str(keys / "acme__k2.private.pem"), "--key-id", "k2"
    )
    again = run_cli("install", str(bundle), "--json").json()
    assert again["status"] == "resigned"
    assert again["source"]["signature"] == "untrusted"  # k2 is not in the trust store
