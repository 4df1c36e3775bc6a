"""Acceptance of the bundle foundation as a user meets it: the real ``spell`` entry point, nothing mocked.

Every hostile input of the foundation's "bad input" list must give one clear error on stderr, a
non-zero exit code and a stable ``--json`` error code, and must leave ``$SPELL_HOME`` byte for byte as
it was. The "done when" list is checked the same way: the compat vectors verify, a bundle signed here
verifies with the same digest, packing is reproducible, and every command teaches with ``--help``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import shutil
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_der_public_key

from spell.cli.app import COMMANDS, cli
from spell.kit.encoding import b64url_decode, b64url_encode, storage_key
from tests.bundle.factories import COMPAT, compat_expected, copy_compat_bundle, make_host_bundle
from tests.cli.run_cli import CliResult, run_cli

EXPECTED = compat_expected()
COVERED = sorted(EXPECTED["digest_order"])

Snapshot = dict[str, tuple[int, bytes]]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A lived-in ``$SPELL_HOME``: a trusted publisher, an installed spell, a policy file."""
    home = tmp_path / "home"
    monkeypatch.setenv("SPELL_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    assert (
        run_cli("trust", "add", "compat", EXPECTED["public_key_base64url"], "--key-id", "k1").exit_code == 0
    )
    assert run_cli("install", str(COMPAT / "greet"), "--json").exit_code == 0
    policy = tmp_path / "policy.json"
    policy.write_text('{"version": "v1", "default": "allow"}\n', encoding="utf-8")
    assert run_cli("policy", "set", "--file", str(policy)).exit_code == 0
    return home


def snapshot(root: Path) -> Snapshot:
    """Every path under ``root`` with its mode and (for files) its bytes."""
    out: Snapshot = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            info = path.lstat()
            data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
            out[str(path.relative_to(root))] = (info.st_mode, data)
    return out


def assert_refused(home: Path, code: str, *args: str) -> CliResult:
    """Run ``spell ARGS`` twice (text, then ``--json``): one error, exit ≠ 0, the code, home untouched."""
    before = snapshot(home)
    text = run_cli(*args)
    assert text.exit_code not in (0, 1), text.stderr  # 1 would be an unclassified failure
    assert text.stdout == ""
    lines = text.stderr.splitlines()
    assert lines, "no error was printed"
    assert lines[0].startswith("error: "), text.stderr
    assert lines[0].endswith(f"[{code}]"), text.stderr
    assert all(line.startswith("hint: ") for line in lines[1:]), text.stderr
    assert "Traceback" not in text.stderr
    as_json = run_cli(*args, "--json")
    assert as_json.exit_code == text.exit_code
    assert as_json.stdout == ""
    assert len(as_json.stderr.strip().splitlines()) == 1
    assert as_json.error()["code"] == code
    assert snapshot(home) == before, "the command changed $SPELL_HOME"
    return as_json


# --- hostile archives ------------------------------------------------------------------------------


def _tar(path: Path, members: Iterator[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _bundle_members() -> Iterator[tuple[tarfile.TarInfo, bytes | None]]:
    """A valid small bundle's members, so only the hostile entry makes the archive unsafe."""
    for rel in ("schema.json", "spell.yaml", "steps/greet.sh"):
        data = (COMPAT / "greet" / rel).read_bytes()
        info = tarfile.TarInfo(rel)
        info.size = len(data)
        yield info, data


def _entry(
    name: str, kind: bytes = tarfile.REGTYPE, *, linkname: str = "", data: bytes = b"x"
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info


HOSTILE_ENTRIES: dict[str, Callable[[], tarfile.TarInfo]] = {
    "dot-dot": lambda: _entry("steps/../../evil.sh"),
    "leading-dot-dot": lambda: _entry("../evil.sh"),
    "absolute": lambda: _entry("/tmp/evil.sh"),
    "symlink": lambda: _entry("steps/passwd", tarfile.SYMTYPE, linkname="/etc/passwd"),
    "hard-link": lambda: _entry("steps/passwd", tarfile.LNKTYPE, linkname="/etc/passwd"),
    "char-device": lambda: _entry("steps/null", tarfile.CHRTYPE),
    "block-device": lambda: _entry("steps/disk", tarfile.BLKTYPE),
    "fifo": lambda: _entry("steps/pipe", tarfile.FIFOTYPE),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_ENTRIES))
def test_install_refuses_an_archive_with_a_hostile_entry(home: Path, tmp_path: Path, kind: str) -> None:
    info = HOSTILE_ENTRIES[kind]()

    def members() -> Iterator[tuple[tarfile.TarInfo, bytes | None]]:
        yield from _bundle_members()
        yield info, (b"x" if info.isreg() else None)

    archive = _tar(tmp_path / f"{kind}.tar", members())
    assert_refused(home, "UNSAFE_ARCHIVE", "install", str(archive))
    assert not (tmp_path / "evil.sh").exists()
    assert not Path("/tmp/evil.sh").exists()


def test_install_refuses_an_archive_of_100_000_entries(home: Path, tmp_path: Path) -> None:
    archive = tmp_path / "many.tar"
    with archive.open("wb") as out:
        for index in range(100_000):
            info = tarfile.TarInfo(f"steps/{index:06d}.txt")
            out.write(info.tobuf(format=tarfile.USTAR_FORMAT))
        out.write(b"\0" * 1024)
    result = assert_refused(home, "UNSAFE_ARCHIVE", "install", str(archive))
    assert "max_entries" in result.error()["details"]


def test_install_refuses_an_archive_declaring_one_terabyte(home: Path, tmp_path: Path) -> None:
    info = tarfile.TarInfo("steps/huge.bin")
    info.size = 1 << 40
    archive = tmp_path / "huge.tar"
    # Only the header: the declared size must be refused without reading (or having) the data.
    archive.write_bytes(b"".join(i.tobuf(format=tarfile.PAX_FORMAT) for i in [info]) + b"\0" * 1024)
    result = assert_refused(home, "UNSAFE_ARCHIVE", "install", str(archive))
    assert result.error()["details"]["size"] == 1 << 40


def test_install_refuses_an_archive_entry_whose_name_is_not_utf8(home: Path, tmp_path: Path) -> None:
    archive = tmp_path / "latin1.tar"
    with tarfile.open(archive, "w", format=tarfile.USTAR_FORMAT, errors="surrogateescape") as tar:
        for info, data in _bundle_members():
            tar.addfile(info, io.BytesIO(data or b""))
        tar.addfile(_entry(os.fsdecode(b"steps/\xff.txt")), io.BytesIO(b"x"))
    error = assert_refused(home, "UNSAFE_ARCHIVE", "install", str(archive)).error()
    assert error["details"]["entry"] == "steps/\\udcff.txt"


def test_a_folder_file_name_that_is_not_utf8_is_refused_by_install_pack_and_verify(
    home: Path, tmp_path: Path
) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    (bundle / "steps" / os.fsdecode(b"\xff.txt")).write_text("x", encoding="utf-8")
    for args in (
        ("install", str(bundle)),
        ("pack", str(bundle), "-o", str(tmp_path / "out.tar")),
        ("verify", "--path", str(bundle)),
    ):
        assert_refused(home, "INVALID_BUNDLE", *args)


def test_install_refuses_an_archive_of_chained_extended_headers(home: Path, tmp_path: Path) -> None:
    # tarfile follows each pax header into the next one recursively; thousands of them in a row
    # must be an unsafe archive, not a RecursionError.
    record = b"13 comment=a\n"  # a pax record: its own length, key=value, newline
    pax = tarfile.TarInfo("././@PaxHeader")
    pax.type, pax.size = tarfile.XHDTYPE, len(record)
    header = pax.tobuf(format=tarfile.USTAR_FORMAT) + record.ljust(tarfile.BLOCKSIZE, b"\0")
    last = tarfile.TarInfo("spell.yaml").tobuf(format=tarfile.USTAR_FORMAT)
    archive = tmp_path / "chained.tar"
    archive.write_bytes(header * 5_000 + last + b"\0" * 1024)
    assert_refused(home, "UNSAFE_ARCHIVE", "install", str(archive))


def test_install_refuses_an_archive_holding_one_name_twice(home: Path, tmp_path: Path) -> None:
    def members() -> Iterator[tuple[tarfile.TarInfo, bytes | None]]:
        yield from _bundle_members()
        yield _entry("./steps/greet.sh"), b"x"  # the same file once more, spelt differently

    archive = _tar(tmp_path / "twice.tar", members())
    assert_refused(home, "UNSAFE_ARCHIVE", "install", str(archive))


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_install_and_pack_refuse_a_folder_holding_a_link_or_special_file(
    home: Path, tmp_path: Path, kind: str
) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    odd = bundle / "steps" / "odd"
    if kind == "symlink":
        odd.symlink_to("/etc/passwd")
    else:
        os.mkfifo(odd)
    assert_refused(home, "INVALID_BUNDLE", "install", str(bundle))
    assert_refused(home, "INVALID_BUNDLE", "pack", str(bundle), "-o", str(tmp_path / "out.tar"))
    assert list(tmp_path.glob("out.tar*")) == []


def test_hostile_input_does_not_even_create_a_fresh_spell_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "fresh-home"
    monkeypatch.setenv("SPELL_HOME", str(home))
    hostile = [
        _tar(tmp_path / f"{kind}.tar", iter([(make(), b"x")])) for kind, make in HOSTILE_ENTRIES.items()
    ]
    bomb = _spell_yaml_bundle(tmp_path, text=BILLION_LAUGHS)
    for source in [*hostile, bomb]:
        result = run_cli("install", str(source), "--json")
        assert result.exit_code == 6, result.stderr
    assert not home.exists()


# --- hostile manifests -----------------------------------------------------------------------------

BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(f"{chr(c)}: &{chr(c)} [{','.join([f'*{chr(c - 1)}'] * 9)}]" for c in range(ord("b"), ord("j"))),
        "id: *i",
    ]
)


def _spell_yaml_bundle(
    tmp_path: Path, replace: dict[str, str] | None = None, text: str | None = None
) -> Path:
    bundle = make_host_bundle(tmp_path / "bundle", spell_id="acme/bad")
    manifest = bundle / "spell.yaml"
    body = manifest.read_text(encoding="utf-8") if text is None else text
    for old, new in (replace or {}).items():
        assert old in body
        body = body.replace(old, new)
    manifest.write_text(body, encoding="utf-8")
    return bundle


def test_a_yaml_billion_laughs_is_refused_by_every_command_that_reads_it(home: Path, tmp_path: Path) -> None:
    bundle = _spell_yaml_bundle(tmp_path, text=BILLION_LAUGHS)
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
    bundle = _spell_yaml_bundle(tmp_path, {old: new})
    error = assert_refused(home, "INVALID_MANIFEST", "install", str(bundle)).error()
    assert error["details"]["file"] == "spell.yaml"
    assert any(problem["path"].startswith(field) for problem in error["details"]["errors"]), error
    assert error["message"].startswith(f"spell.yaml: {field}")
    expected = "'host', 'docker', 'wasm', 'builtin' or 'api'" if field == "runtime.execution" else "(x.y.z)"
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


# --- hostile trust store and signatures -------------------------------------------------------------

NONSENSE_TRUST = [
    "this is not json",
    "[]",
    '{"version": "v2", "publisher": "compat", "keys": []}',
    '{"version": "v1", "publisher": "someone-else", "keys": [{"key_id": "k1"}]}',
    '{"version": "v1", "publisher": "compat", "keys": [{"key_id": "k1", "algorithm": "rsa", '
    '"public_key": "x"}]}',
    '{"version": "v1", "publisher": "compat", "keys": [{"key_id": "k1", "algorithm": "ed25519", '
    '"public_key": "not base64url!"}]}',
    '{"version": "v1", "publisher": "compat", "keys": "k1"}',
    "[" * 100_000 + "]" * 100_000,  # nesting deeper than any parser's recursion limit
]


@pytest.mark.parametrize("text", NONSENSE_TRUST, ids=range(len(NONSENSE_TRUST)))
def test_a_trust_file_edited_into_nonsense_is_an_error_never_a_silent_pass(home: Path, text: str) -> None:
    trust_file = home / "trust" / "publishers" / EXPECTED["trust_file_name"]
    assert trust_file.is_file()
    trust_file.write_text(text, encoding="utf-8")
    for args in (
        ("verify", "--path", str(COMPAT / "greet")),
        ("verify", "compat/greet"),
        ("trust", "list"),
        ("trust", "inspect", "compat"),
        ("trust", "add", "compat", EXPECTED["public_key_base64url"], "--key-id", "k2"),
        ("trust", "revoke-key", "compat", "--key-id", "k1"),
    ):
        error = assert_refused(home, "INVALID_TRUST_FILE", *args).error()
        assert error["details"]["file"] == str(trust_file)


def _signature(bundle: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((bundle / "spell.sig.json").read_text(encoding="utf-8"))
    return data


def test_a_signature_file_with_a_wrong_digest_is_invalid(home: Path, tmp_path: Path) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    sig = _signature(bundle)
    sig["digest"] = {"algorithm": "sha256", "value": "0" * 64}
    (bundle / "spell.sig.json").write_text(json.dumps(sig), encoding="utf-8")
    error = assert_refused(home, "SIGNATURE_INVALID", "verify", "--path", str(bundle)).error()
    assert error["details"]["status"] == "invalid"
    assert error["details"]["message"] == "digest mismatch"


@pytest.mark.parametrize("rel", COVERED)
def test_a_changed_byte_in_any_covered_file_is_invalid_digest_mismatch(
    home: Path, tmp_path: Path, rel: str
) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    path = bundle / rel
    data = bytearray(path.read_bytes())
    # one flipped bit; in spell.yaml inside the summary text, so the manifest itself stays valid
    data[data.index(b"Prints") if rel == "spell.yaml" else 0] ^= 0x01
    path.write_bytes(bytes(data))
    error = assert_refused(home, "SIGNATURE_INVALID", "verify", "--path", str(bundle)).error()
    assert (error["details"]["status"], error["details"]["message"]) == ("invalid", "digest mismatch")
    assert error["message"] == "signature required: digest mismatch"


def test_a_changed_byte_in_an_installed_spell_is_invalid_digest_mismatch(home: Path) -> None:
    installed = home / "spells" / storage_key("compat/greet") / EXPECTED["version"]
    script = installed / "steps" / "greet.sh"
    script.write_bytes(script.read_bytes() + b"\n")
    error = assert_refused(home, "SIGNATURE_INVALID", "verify", "compat/greet").error()
    assert error["details"]["message"] == "digest mismatch"


# --- done when ------------------------------------------------------------------------------------


def test_the_compat_vectors_verify_through_the_cli(home: Path) -> None:
    by_path = run_cli("verify", "--path", str(COMPAT / "greet"), "--json")
    by_id = run_cli("verify", "compat/greet", "--json")
    for result in (by_path, by_id):
        assert result.exit_code == 0, result.stderr
        data = result.json()
        assert (data["status"], data["publisher"], data["key_id"], data["digest"]) == (
            "verified",
            EXPECTED["publisher"],
            EXPECTED["key_id"],
            EXPECTED["digest_sha256_hex"],
        )
    trust_file = home / "trust" / "publishers" / EXPECTED["trust_file_name"]
    assert json.loads(trust_file.read_text(encoding="utf-8"))["publisher"] == "compat"


def test_a_bundle_signed_here_verifies_with_the_same_digest_and_file_format(
    home: Path, tmp_path: Path
) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    keys = tmp_path / "keys"
    made = run_cli("sign", "keygen", "compat", "--key-id", "k9", "--out-dir", str(keys), "--json")
    assert made.exit_code == 0, made.stderr
    private = keys / "compat__k9.private.pem"
    public = (keys / "compat__k9.public.b64url.txt").read_text(encoding="utf-8").strip()
    assert private.stat().st_mode & 0o777 == 0o600
    signed = run_cli("sign", "bundle", str(bundle), "--private-key", str(private), "--key-id", "k9")
    assert signed.exit_code == 0, signed.stderr

    sig = _signature(bundle)
    assert sorted(sig) == ["algorithm", "digest", "key_id", "publisher", "signature", "version"]
    assert (sig["version"], sig["publisher"], sig["key_id"], sig["algorithm"]) == (
        "v1",
        "compat",
        "k9",
        "ed25519",
    )
    assert sig["digest"] == {"algorithm": "sha256", "value": EXPECTED["digest_sha256_hex"]}
    # The rule spell-runtime applies: Ed25519 over the 32 raw digest bytes, base64url without padding.
    key = load_der_public_key(b64url_decode(public))
    assert isinstance(key, Ed25519PublicKey)
    key.verify(b64url_decode(str(sig["signature"])), bytes.fromhex(EXPECTED["digest_sha256_hex"]))

    assert run_cli("trust", "add", "compat", public, "--key-id", "k9").exit_code == 0
    verified = run_cli("verify", "--path", str(bundle), "--json")
    assert verified.exit_code == 0, verified.stderr
    assert verified.json()["key_id"] == "k9"


def test_pack_twice_gives_the_same_sha256_whatever_the_mtimes(home: Path, tmp_path: Path) -> None:
    first_copy = copy_compat_bundle(tmp_path / "one")
    second_copy = copy_compat_bundle(tmp_path / "two")
    for path in second_copy.rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    results = [
        run_cli("pack", str(folder), "-o", str(tmp_path / f"{n}.tar"), "--json")
        for n, folder in enumerate((first_copy, first_copy, second_copy))
    ]
    assert all(r.exit_code == 0 for r in results), [r.stderr for r in results]
    sums = {r.json()["archive_sha256"] for r in results}
    assert len(sums) == 1
    files = {hashlib.sha256((tmp_path / f"{n}.tar").read_bytes()).hexdigest() for n in range(3)}
    assert files == sums
    assert {r.json()["digest"] for r in results} == {f"sha256:{EXPECTED['digest_sha256_hex']}"}


def test_pack_refuses_to_replace_a_device_or_fifo_named_by_output(home: Path, tmp_path: Path) -> None:
    # Writing beside the target and renaming would replace a device such as /dev/null with a file.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    error = assert_refused(home, "VALIDATION_ERROR", "pack", str(COMPAT / "greet"), "-o", str(fifo)).error()
    assert error["details"]["path"] == str(fifo)
    assert fifo.is_fifo()
    assert list(tmp_path.glob("pipe.partial")) == []


def test_pack_into_a_missing_folder_is_one_clear_error(home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "greet.tar"
    assert_refused(home, "VALIDATION_ERROR", "pack", str(COMPAT / "greet"), "-o", str(missing))
    assert not missing.parent.exists()


def test_keygen_into_a_folder_that_cannot_be_made_is_one_clear_error(home: Path, tmp_path: Path) -> None:
    in_the_way = tmp_path / "keys"
    in_the_way.write_text("a file, not a folder\n", encoding="utf-8")
    out_dir = in_the_way / "sub"
    error = assert_refused(home, "VALIDATION_ERROR", "sign", "keygen", "acme", "--out-dir", str(out_dir))
    assert error.error()["details"]["path"] == str(out_dir)
    assert in_the_way.read_text(encoding="utf-8") == "a file, not a folder\n"


def test_sign_refuses_to_write_through_a_planted_signature_link(home: Path, tmp_path: Path) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me\n", encoding="utf-8")
    (bundle / "spell.sig.json").unlink()
    (bundle / "spell.sig.json").symlink_to(precious)
    keys = tmp_path / "keys"
    assert run_cli("sign", "keygen", "compat", "--out-dir", str(keys)).exit_code == 0
    private = str(keys / "compat__default.private.pem")
    assert_refused(home, "INVALID_BUNDLE", "sign", "bundle", str(bundle), "--private-key", private)
    assert precious.read_text(encoding="utf-8") == "keep me\n"


def test_a_packed_bundle_installs_and_still_verifies(home: Path, tmp_path: Path) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    shutil.rmtree(home / "spells")
    assert run_cli("pack", str(bundle), "-o", str(tmp_path / "greet.tar")).exit_code == 0
    installed = run_cli("install", str(tmp_path / "greet.tar"), "--json")
    assert installed.exit_code == 0, installed.stderr
    assert installed.json()["source"]["signature"] == "verified"
    assert run_cli("verify", "compat/greet").exit_code == 0


# --- every command teaches ------------------------------------------------------------------------

ISSUE2_COMMANDS = (
    "pack",
    "sign",
    "verify",
    "trust",
    "install",
    "list",
    "inspect",
    "registry",
    "policy",
    "license",
)


def _implemented(name: str) -> bool:
    module = COMMANDS[name][0].split(":")[0]
    return importlib.util.find_spec(module) is not None


def _leaves() -> list[tuple[str, ...]]:
    ctx = click.Context(cli)
    out: list[tuple[str, ...]] = []
    for name in COMMANDS:
        if not _implemented(name):
            continue
        command = cli.get_command(ctx, name)
        if isinstance(command, click.Group):
            sub = click.Context(command, parent=ctx)
            out.extend((name, verb) for verb in command.list_commands(sub))
        else:
            out.append((name,))
    return out


def test_the_foundation_commands_are_all_implemented() -> None:
    assert [name for name in ISSUE2_COMMANDS if not _implemented(name)] == []


@pytest.mark.parametrize("path", [*((name,) for name in COMMANDS), *_leaves()], ids=" ".join)
def test_every_command_and_verb_has_help_with_a_usage_line(path: tuple[str, ...]) -> None:
    if not _implemented(path[0]):
        pytest.skip(f"`spell {path[0]}` is registered but its module is not written yet")
    result = run_cli(*path, "--help")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"Usage: spell {' '.join(path)} ")
    assert len(result.stdout.splitlines()) > 3  # more than a bare usage line: it teaches


@pytest.mark.parametrize("path", [p for p in _leaves() if p[0] in ISSUE2_COMMANDS], ids=" ".join)
def test_every_foundation_data_command_accepts_json(path: tuple[str, ...]) -> None:
    result = run_cli(*path, "--help")
    assert "--json" in result.stdout


@pytest.mark.parametrize(("allowed", "code"), [("compat", None), ("someone-else", "POLICY_DENIED")])
def test_a_deny_default_policy_lets_allow_listed_publishers_cast(
    home: Path, tmp_path: Path, allowed: str, code: str | None
) -> None:
    policy = tmp_path / "deny.json"
    policy.write_text(
        json.dumps({"version": "v1", "default": "deny", "publishers": {"allow": [allowed]}}), encoding="utf-8"
    )
    assert run_cli("policy", "set", "--file", str(policy)).exit_code == 0
    result = run_cli("cast", "compat/greet", "-p", "name=world", "--dry-run", "--json")
    if code is None:
        assert result.exit_code == 0, result.stderr
    else:
        assert result.exit_code == 5
        assert result.error()["code"] == code
        assert result.error()["details"]["rule"] == "publishers.allow"


DEEP = "[" * 100_000 + "]" * 100_000


def test_a_deeply_nested_manifest_is_refused_not_a_crash(home: Path, tmp_path: Path) -> None:
    yaml_bundle = _spell_yaml_bundle(tmp_path, text=f"id: {DEEP}\n")
    assert_refused(home, "INVALID_MANIFEST", "install", str(yaml_bundle))
    toml_bundle = tmp_path / "toml"
    toml_bundle.mkdir()
    (toml_bundle / "manifest.toml").write_text(f"[spell]\nkey = {DEEP}\n", encoding="utf-8")
    assert_refused(home, "INVALID_MANIFEST", "install", str(toml_bundle))


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
