"""Hostile archives and bundle folders through the real ``spell`` entry point: path tricks, links,
devices, entry-count and size bombs, names that are not UTF-8, chained or doubled headers. Each is one
clear error with a stable ``--json`` code, and ``$SPELL_HOME`` stays byte for byte as it was."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.bundle.factories import COMPAT, copy_compat_bundle
from tests.cli.foundation.hostile import BILLION_LAUGHS, assert_refused, spell_yaml_bundle
from tests.cli.run_cli import run_cli


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
    bomb = spell_yaml_bundle(tmp_path, text=BILLION_LAUGHS)
    for source in [*hostile, bomb]:
        result = run_cli("install", str(source), "--json")
        assert result.exit_code == 6, result.stderr
    assert not home.exists()
