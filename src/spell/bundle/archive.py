"""The canonical bundle archive (``spell pack``) and its safe unpacking.

Packing: an uncompressed POSIX (pax) tar of every regular file of the folder, entries sorted by their
UTF-8 path, mtime 0, uid/gid 0, empty user and group names, mode 0755 when the file is executable and
0644 otherwise, and no links or device files. The same folder gives the same bytes on any machine.
``.git`` and ``.spell-keys`` folders are left out: the first is not part of a spell, the second holds
private keys.

Unpacking inspects every member before anything is written and refuses the whole archive (with
``UnsafeArchive``) on an absolute path, ``..``, a link, a device or fifo, a duplicate name, too many
entries or too many declared bytes. Extraction then runs through ``tarfile``'s ``data`` filter as a
second line of defence.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from spell.bundle.names import is_utf8
from spell.errors import InvalidBundle, InvalidInput, UnsafeArchive

__all__ = ["EXCLUDED_DIRS", "ArchiveLimits", "is_utf8", "pack_bundle", "unpack_archive", "write_archive"]

EXCLUDED_DIRS = frozenset({".git", ".spell-keys"})


@dataclass(frozen=True)
class ArchiveLimits:
    """What unpacking accepts at most: entries, bytes in all, bytes in one file (declared sizes)."""

    max_entries: int = 10_000
    max_total_bytes: int = 1 << 30
    max_file_bytes: int = 256 << 20


def pack_bundle(bundle_dir: Path, *, exclude: Path | None = None) -> bytes:
    """Return the canonical tar of ``bundle_dir`` (``exclude``: a file inside it to leave out)."""
    root = Path(bundle_dir)
    if not root.is_dir():
        raise InvalidBundle(f"{root} is not a folder", details={"path": str(root)})
    skip = exclude.resolve() if exclude is not None else None
    files = [rel for rel in _walk(root) if skip is None or (root / rel).resolve() != skip]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8") as tar:
        for rel in sorted(files, key=lambda p: p.encode("utf-8")):
            path = root / rel
            info = tarfile.TarInfo(rel)
            st = path.lstat()
            info.size = st.st_size
            info.mode = 0o755 if st.st_mode & 0o111 else 0o644
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with path.open("rb") as handle:
                tar.addfile(info, handle)
    return buffer.getvalue()


def write_archive(bundle_dir: Path, out_path: Path) -> bytes:
    """Pack ``bundle_dir`` into ``out_path`` (left out of itself if inside) and return the bytes.

    The file is written beside its destination and renamed into place, so the destination must be
    absent or a regular file: renaming over a device such as ``/dev/null`` would replace the device.
    """
    out = Path(out_path)
    if out.exists() and not out.is_file():
        raise InvalidInput(
            f"cannot write the archive to {out}: it exists and is not a regular file",
            details={"path": str(out)},
            hint="give -o the path of a new or existing .tar file",
        )
    data = pack_bundle(bundle_dir, exclude=out_path)
    tmp = out.with_name(out.name + ".partial")
    try:
        tmp.write_bytes(data)
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InvalidInput(
            f"cannot write the archive to {out}: {exc.strerror or exc}", details={"path": str(out)}
        ) from exc
    return data


def unpack_archive(
    source: Path | bytes, dest_dir: Path, *, limits: ArchiveLimits = ArchiveLimits()
) -> list[str]:
    """Check every member of the tar ``source``, then extract it into ``dest_dir``.

    ``dest_dir`` must be absent or empty. Returns the extracted files' normalised relative paths.
    Raises ``UnsafeArchive`` (nothing written) for a hostile archive and ``InvalidBundle`` for one
    that is not a tar.
    """
    dest = Path(dest_dir)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InvalidBundle(f"{dest} must be an empty or new folder", details={"path": str(dest)})
    with _open(source) as handle, _open_tar(handle) as tar:
        members, files = _inspect(tar, limits)
        dest.parent.mkdir(parents=True, exist_ok=True)
        # Extract beside the destination and rename at the end, so a failure half-way (a truncated
        # archive, a full disk) leaves the destination as it was.
        staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest.parent))
        try:
            tar.extractall(staging, members=members, filter="data")
        except (tarfile.TarError, OSError) as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise UnsafeArchive(f"archive could not be extracted safely: {exc}") from exc
    staging.chmod(0o755)
    if dest.exists():
        dest.rmdir()
    staging.replace(dest)
    return files


def _open(source: Path | bytes) -> BinaryIO:
    if isinstance(source, bytes):
        return io.BytesIO(source)
    try:
        return Path(source).open("rb")
    except OSError as exc:
        raise InvalidBundle(f"cannot read archive {source}: {exc.strerror}") from exc


def _open_tar(handle: BinaryIO) -> tarfile.TarFile:
    try:
        return tarfile.open(fileobj=handle, mode="r:", encoding="utf-8")
    except tarfile.TarError as exc:
        raise InvalidBundle(f"not an uncompressed tar archive: {exc}") from exc
    except RecursionError:
        raise _chained_headers() from None


def _inspect(tar: tarfile.TarFile, limits: ArchiveLimits) -> tuple[list[tarfile.TarInfo], list[str]]:
    """Read every header (not the data) and refuse the archive on the first unsafe member."""
    members: list[tarfile.TarInfo] = []
    names: dict[str, bool] = {}  # normalised name -> is a regular file
    seen = total = 0
    while True:
        try:
            member = tar.next()
        except tarfile.TarError as exc:
            raise InvalidBundle(f"corrupt tar archive: {exc}") from exc
        except RecursionError:
            raise _chained_headers() from None
        if member is None:
            break
        seen += 1
        if seen > limits.max_entries:
            raise UnsafeArchive(
                f"archive has more than {limits.max_entries} entries",
                details={"max_entries": limits.max_entries},
            )
        name = _safe_name(member)
        if not name:
            continue  # the archive's own root folder ("./"), which extraction does not need
        if name in names:
            raise UnsafeArchive(f"archive holds {name!r} twice", details={"entry": name})
        names[name] = member.isreg()
        if member.isreg():
            _check_size(member, name, total, limits)
            total += member.size
        members.append(member)
    _check_parents(names)
    return members, [name for name, is_file in names.items() if is_file]


def _chained_headers() -> UnsafeArchive:
    # tarfile reads each pax or GNU long-name header by recursing into the next one
    return UnsafeArchive("archive chains more extended headers than can be read")


def _safe_name(member: tarfile.TarInfo) -> str:
    """The member's normalised relative path ("" for a root folder entry), or ``UnsafeArchive``."""
    raw = member.name
    kind = _unsafe_kind(member)
    if kind is not None:
        raise UnsafeArchive(f"archive entry {raw!r} is a {kind}", details={"entry": raw, "kind": kind})
    if not is_utf8(raw):
        # tarfile decodes undecodable bytes to lone surrogates; no digest or signature can name them
        raise UnsafeArchive(
            f"archive entry {raw!r} has a name that is not UTF-8",
            details={"entry": raw.encode("utf-8", "backslashreplace").decode()},
        )
    if not raw or "\0" in raw or "\\" in raw or raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise UnsafeArchive(
            f"archive entry {raw!r} has an absolute or malformed path", details={"entry": raw}
        )
    parts = PurePosixPath(raw).parts
    if ".." in parts:
        raise UnsafeArchive(f"archive entry {raw!r} points outside the folder", details={"entry": raw})
    if not parts and not member.isdir():
        raise UnsafeArchive(f"archive entry {raw!r} has an empty path", details={"entry": raw})
    return "/".join(parts)


def _unsafe_kind(member: tarfile.TarInfo) -> str | None:
    if member.issym():
        return "symlink"
    if member.islnk():
        return "hard link"
    if member.ischr() or member.isblk():
        return "device"
    if member.isfifo():
        return "fifo"
    if member.issparse() or not (member.isreg() or member.isdir()):
        return "special file"
    return None


def _check_size(member: tarfile.TarInfo, name: str, total: int, limits: ArchiveLimits) -> None:
    if member.size > limits.max_file_bytes:
        raise UnsafeArchive(
            f"archive entry {name!r} declares {member.size} bytes (limit {limits.max_file_bytes})",
            details={"entry": name, "size": member.size, "max_file_bytes": limits.max_file_bytes},
        )
    if total + member.size > limits.max_total_bytes:
        raise UnsafeArchive(
            f"archive declares more than {limits.max_total_bytes} bytes in all",
            details={"max_total_bytes": limits.max_total_bytes},
        )


def _check_parents(names: dict[str, bool]) -> None:
    """Refuse a regular file that another entry uses as a folder."""
    for name in names:
        for parent in PurePosixPath(name).parents:
            if names.get(str(parent)):
                raise UnsafeArchive(
                    f"archive entry {name!r} is inside the file {str(parent)!r}", details={"entry": name}
                )


def _walk(root: Path) -> list[str]:
    """Relative paths of every regular file; links and special files are refused."""
    out: list[str] = []
    pending = [""]
    while pending:
        rel_dir = pending.pop()
        with os.scandir(root / rel_dir if rel_dir else root) as entries:
            for entry in entries:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                if not is_utf8(entry.name):
                    raise InvalidBundle(
                        f"file name is not UTF-8: {rel!r}",
                        details={"path": rel.encode("utf-8", "backslashreplace").decode()},
                    )
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISLNK(mode):
                    raise InvalidBundle(f"symlink is not allowed in a bundle: {rel}", details={"path": rel})
                if stat.S_ISDIR(mode):
                    if entry.name not in EXCLUDED_DIRS:
                        pending.append(rel)
                elif stat.S_ISREG(mode):
                    out.append(rel)
                else:
                    raise InvalidBundle(f"unsupported file type in a bundle: {rel}", details={"path": rel})
    return out
