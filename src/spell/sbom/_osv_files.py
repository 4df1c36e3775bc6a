"""The JSON objects of an OSV set on disk: a directory, a zip as osv.dev publishes per ecosystem
(``all.zip``, one record per member) or one file holding a record or a list of them.

Zips come from outside, so members are read with a bound rather than trusting their headers: a member
past ``max_member_bytes``, an archive past ``max_total_bytes`` or a member named outside the archive
is refused before anything is parsed from it.
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any

from spell.errors import InvalidInput, UnsafeArchive

__all__ = ["MAX_MEMBER_BYTES", "MAX_TOTAL_BYTES", "read_records"]

#: The largest record file read (the biggest real records, kernel ones listing every version, are a
#: few MiB).
MAX_MEMBER_BYTES = 32 * 1024 * 1024
#: The most JSON read from one import (osv.dev's largest ecosystem zip holds well under this).
MAX_TOTAL_BYTES = 4 * 1024 * 1024 * 1024

_DRIVE = re.compile(r"^[A-Za-z]:")


def read_records(path: Path, *, max_member_bytes: int, max_total_bytes: int) -> Iterator[tuple[str, Any]]:
    """(where it was read, the JSON object) for every record under ``path``."""
    if path.is_dir():
        yield from _directory(path, max_member_bytes, max_total_bytes)
    elif path.is_file() and zipfile.is_zipfile(path):
        yield from _zip(path, max_member_bytes, max_total_bytes)
    elif path.is_file():
        with path.open("rb") as handle:
            yield from _records(path.name, _bounded(handle, max_total_bytes, path.name))
    else:
        raise InvalidInput(f"{path} is not an OSV file, directory or zip", details={"file": str(path)})


def _directory(root: Path, max_member_bytes: int, max_total_bytes: int) -> Iterator[tuple[str, Any]]:
    total = 0
    for file in sorted(root.rglob("*.json")):
        if not file.is_file():
            continue
        source = file.relative_to(root).as_posix()
        with file.open("rb") as handle:
            data = _bounded(handle, max_member_bytes, source)
        total += len(data)
        if total > max_total_bytes:
            raise InvalidInput(
                f"{root} holds more than {max_total_bytes} bytes of OSV JSON",
                details={"file": str(root), "limit": max_total_bytes},
            )
        yield from _records(source, data)


def _zip(path: Path, max_member_bytes: int, max_total_bytes: int) -> Iterator[tuple[str, Any]]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidInput(f"{path.name} is not a readable zip: {exc}", details={"file": str(path)}) from None
    with archive:
        members = archive.infolist()
        for info in members:
            _check_name(path, info.filename)
        total = 0
        for info in members:
            if info.is_dir() or not info.filename.lower().endswith(".json"):
                continue
            source = f"{path.name}:{info.filename}"
            if info.file_size > max_member_bytes:
                raise _too_large(source, max_member_bytes, in_zip=True)
            try:
                with archive.open(info) as handle:
                    data = _bounded(handle, max_member_bytes, source, in_zip=True)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
                # RuntimeError: an encrypted member; NotImplementedError: a compression zipfile lacks.
                raise InvalidInput(f"{source} cannot be read: {exc}", details={"file": source}) from None
            total += len(data)
            if total > max_total_bytes:
                raise UnsafeArchive(
                    f"{path.name} unpacks to more than {max_total_bytes} bytes",
                    details={"file": str(path), "limit": max_total_bytes},
                )
            yield from _records(source, data)


def _check_name(path: Path, name: str) -> None:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or _DRIVE.match(name) or ".." in parts:
        raise UnsafeArchive(
            f"{path.name} holds a member named outside the archive: {name!r}",
            details={"file": str(path), "member": name},
        )


def _bounded(handle: IO[bytes], limit: int, source: str, *, in_zip: bool = False) -> bytes:
    data = handle.read(limit + 1)
    if len(data) > limit:
        raise _too_large(source, limit, in_zip=in_zip)
    return data


def _too_large(source: str, limit: int, *, in_zip: bool) -> InvalidInput:
    error = UnsafeArchive if in_zip else InvalidInput
    return error(f"{source} is larger than {limit} bytes", details={"file": source, "limit": limit})


def _records(source: str, data: bytes) -> Iterator[tuple[str, Any]]:
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:  # RecursionError: arrays nested past the stack
        raise InvalidInput(f"{source} is not JSON: {exc}", details={"file": source}) from None
    if isinstance(document, list):
        for record in document:
            yield source, record
    elif isinstance(document, dict):
        yield source, document
    else:
        raise InvalidInput(
            f"{source} holds neither an OSV record nor a list of them", details={"file": source}
        )
