from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from spell.bundle.archive import ArchiveLimits, pack_bundle, unpack_archive, write_archive
from spell.errors import InvalidBundle, UnsafeArchive
from tests.bundle.factories import copy_compat_bundle, make_host_bundle


def _tar(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, None


def _many_entries(count: int) -> bytes:
    headers = [tarfile.TarInfo(f"f{i}").tobuf(tarfile.USTAR_FORMAT) for i in range(count)]
    return b"".join(headers) + b"\0" * 1024


def _forged_size(size: int) -> bytes:
    info = tarfile.TarInfo("huge.bin")
    info.size = size  # only the header claims it; no data follows
    return info.tobuf(tarfile.GNU_FORMAT) + b"\0" * 1024


HOSTILE: dict[str, Callable[[], bytes]] = {
    "parent": lambda: _tar(_file("../escape.txt")),
    "nested-parent": lambda: _tar(_file("steps/../../escape.txt")),
    "absolute": lambda: _tar(_file("/etc/escape.txt")),
    "symlink": lambda: _tar(_special("link", tarfile.SYMTYPE, "/etc/passwd")),
    "hardlink": lambda: _tar(_file("a.txt"), _special("b.txt", tarfile.LNKTYPE, "a.txt")),
    "char-device": lambda: _tar(_special("dev", tarfile.CHRTYPE)),
    "block-device": lambda: _tar(_special("disk", tarfile.BLKTYPE)),
    "fifo": lambda: _tar(_special("pipe", tarfile.FIFOTYPE)),
    "duplicate": lambda: _tar(_file("a.txt"), _file("a.txt", b"y")),
    "duplicate-after-normalising": lambda: _tar(_file("a.txt"), _file("./a.txt", b"y")),
    "file-used-as-folder": lambda: _tar(_file("a"), _file("a/b.txt")),
    "backslash": lambda: _tar(_file("..\\escape.txt")),
    "100k-entries": lambda: _many_entries(100_000),
    "1tb-declared": lambda: _forged_size(10**12),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_archive_is_refused_and_destination_untouched(tmp_path: Path, name: str) -> None:
    dest = tmp_path / "dest"
    with pytest.raises(UnsafeArchive) as caught:
        unpack_archive(HOSTILE[name](), dest)
    assert caught.value.code == "UNSAFE_ARCHIVE"
    assert not dest.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_hostile_archive_leaves_an_existing_empty_destination_empty(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(UnsafeArchive):
        unpack_archive(_tar(_file("ok.txt"), _file("../escape.txt")), dest)
    assert list(dest.iterdir()) == []


def test_total_declared_bytes_are_limited(tmp_path: Path) -> None:
    archive = _tar(_file("a", b"1234"), _file("b", b"5678"))
    with pytest.raises(UnsafeArchive) as caught:
        unpack_archive(archive, tmp_path / "d", limits=ArchiveLimits(max_total_bytes=6))
    assert caught.value.details["max_total_bytes"] == 6


def test_pack_twice_gives_identical_bytes(tmp_path: Path) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    first = pack_bundle(bundle)
    (bundle / "steps" / "a.txt").touch()  # a new mtime must not matter
    assert hashlib.sha256(pack_bundle(bundle)).digest() == hashlib.sha256(first).digest()


def test_packed_entries_are_canonical(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b", files={"B.txt": "b", "a.txt": "a", "é.txt": "e"})
    (bundle / "a.txt").chmod(0o600)
    with tarfile.open(fileobj=io.BytesIO(pack_bundle(bundle))) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names, key=lambda n: n.encode("utf-8"))
    assert "é.txt" in names
    for member in members:
        assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (0, 0, 0, "", "")
        assert member.isreg()
    modes = {m.name: m.mode for m in members}
    assert modes["steps/hello.sh"] == 0o755
    assert modes["a.txt"] == 0o644


def test_pack_leaves_out_private_keys_and_git(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b", files={".spell-keys/k.private.pem": "secret", ".git/HEAD": "x"})
    with tarfile.open(fileobj=io.BytesIO(pack_bundle(bundle))) as tar:
        assert not any(n.startswith((".spell-keys", ".git")) for n in tar.getnames())


def test_pack_refuses_symlinks(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    (bundle / "link").symlink_to("/etc/passwd")
    with pytest.raises(InvalidBundle) as caught:
        pack_bundle(bundle)
    assert caught.value.details["path"] == "link"


def test_pack_refuses_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidBundle):
        pack_bundle(tmp_path / "nope")


def test_write_archive_inside_the_bundle_is_reproducible(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    out = bundle / "out.tar"
    first = write_archive(bundle, out)
    second = write_archive(bundle, out)
    assert first == second == out.read_bytes()


def test_round_trip_restores_files_and_modes(tmp_path: Path) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    archive = tmp_path / "greet.tar"
    write_archive(bundle, archive)
    dest = tmp_path / "out"
    files = unpack_archive(archive, dest)
    assert "steps/sub/a.txt" in files
    for rel in files:
        assert (dest / rel).read_bytes() == (bundle / rel).read_bytes()
    assert (dest / "steps" / "greet.sh").stat().st_mode & 0o111


def test_unpack_refuses_a_non_empty_destination(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "keep").write_text("x", encoding="utf-8")
    with pytest.raises(InvalidBundle):
        unpack_archive(_tar(_file("a.txt")), dest)
    assert [p.name for p in dest.iterdir()] == ["keep"]


def test_unpack_refuses_something_that_is_not_a_tar(tmp_path: Path) -> None:
    with pytest.raises(InvalidBundle) as caught:
        unpack_archive(b"definitely not a tar archive" * 40, tmp_path / "d")
    assert caught.value.code == "INVALID_BUNDLE"
    assert not (tmp_path / "d").exists()


def test_unpack_reports_a_missing_archive_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidBundle):
        unpack_archive(tmp_path / "missing.tar", tmp_path / "d")


def test_archive_made_with_a_dot_root_folder_is_accepted(tmp_path: Path) -> None:
    root = tarfile.TarInfo(".")
    root.type = tarfile.DIRTYPE
    sub = tarfile.TarInfo("./steps")
    sub.type = tarfile.DIRTYPE
    archive = _tar((root, None), (sub, None), _file("./spell.yaml"), _file("./steps/run.sh"))
    files = unpack_archive(archive, tmp_path / "d")
    assert sorted(files) == ["spell.yaml", "steps/run.sh"]
    assert (tmp_path / "d" / "steps" / "run.sh").read_bytes() == b"x"


def test_file_named_dot_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsafeArchive):
        unpack_archive(_tar(_file(".")), tmp_path / "d")


def test_truncated_archive_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    first, data = _file("first.txt")
    big = tarfile.TarInfo("big.txt")
    big.size = 4096  # only 100 bytes follow
    archive = first.tobuf(tarfile.USTAR_FORMAT) + data.ljust(512, b"\0") + big.tobuf(tarfile.USTAR_FORMAT)
    with pytest.raises(InvalidBundle):
        unpack_archive(archive + b"x" * 100, tmp_path / "dest")
    assert list(tmp_path.iterdir()) == []


def test_unknown_member_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsafeArchive) as caught:
        unpack_archive(_tar(_special("odd", b"Z")), tmp_path / "d")
    assert caught.value.details["kind"] == "special file"


def test_corrupt_header_after_an_extended_header_is_invalid(tmp_path: Path) -> None:
    long_name = tarfile.TarInfo("x" * 200)
    headers = long_name.tobuf(tarfile.PAX_FORMAT)
    archive = headers[:-512] + b"garbage!" * 64 + b"\0" * 1024
    with pytest.raises(InvalidBundle) as caught:
        unpack_archive(archive, tmp_path / "d")
    assert caught.value.code == "INVALID_BUNDLE"
    assert not (tmp_path / "d").exists()


def test_pack_refuses_special_files(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    os.mkfifo(bundle / "pipe")
    with pytest.raises(InvalidBundle) as caught:
        pack_bundle(bundle)
    assert caught.value.details["path"] == "pipe"


def test_unpacked_folder_is_world_readable(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    unpack_archive(_tar(_file("a.txt")), dest)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o755


def test_failure_during_extraction_leaves_nothing(tmp_path: Path) -> None:
    archive = _tar(_file("ok.txt"), _file("n" * 300))  # legal in tar, too long for the file system
    with pytest.raises(UnsafeArchive):
        unpack_archive(archive, tmp_path / "dest")
    assert list(tmp_path.iterdir()) == []


def test_unpack_into_an_existing_empty_folder(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    assert unpack_archive(_tar(_file("a.txt")), dest) == ["a.txt"]
    assert (dest / "a.txt").read_bytes() == b"x"
