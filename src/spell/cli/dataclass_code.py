"""Dataclass methods compiled once, not at every start of ``spell cast``.

``@dataclass`` writes the source of each class's ``__init__``, ``__repr__``, ``__eq__`` (and, frozen,
``__hash__``, ``__setattr__`` and ``__delattr__``) and compiles it when the class is defined. A local
cast defines about forty dataclasses; compiling their 230 methods took a fifth of the CPU time of its
imports (docs/performance.md, "Local cast start-up"). What ``compile`` returns depends only on that
source text and on the interpreter, so the code objects are kept in one file beside the package's
byte code, as Python keeps each module's ``.pyc``, and the next start unmarshals them instead.

``dataclasses`` calls ``exec`` by its global name; ``install`` gives that module a global ``exec``
which runs the kept code object for a source it has seen and compiles (as ``exec`` would) one it has
not. The class gets the same methods either way. The file is trusted as the ``.pyc`` files beside it
are (whoever may write it may write those): it is read only while it and its folder belong to this
user or root and no one else may write them, and is written only where byte code may be. Any doubt
— another interpreter, a damaged file, another owner — is a miss, and the methods are compiled.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import marshal
import os
import stat
import sys
from pathlib import Path
from types import CodeType
from typing import Any

__all__ = ["CachedExec", "install"]

# A local cast defines about 230 methods. Past this many, the file keeps only what the process that
# writes it used, so what other kinds of cast brought in cannot make every start load more.
MAX_ENTRIES = 1024
_FILE_PREFIX = "dataclass-code"


class CachedExec:
    """``exec`` for ``dataclasses``: a source seen before runs its kept code object."""

    def __init__(self, kept: dict[str, CodeType]) -> None:
        self.kept = kept
        self.used: set[str] = set()
        self.compiled = 0  # sources compiled in this process: the file is worth writing again

    def __call__(self, source: Any, globals_: Any = None, locals_: Any = None) -> None:
        if type(source) is str:
            code = self.kept.get(source)
            if code is None:
                # dont_inherit: this module's ``from __future__ import annotations`` must not turn
                # the annotations of the generated ``__init__`` into strings.
                code = compile(source, "<string>", "exec", dont_inherit=True)
                self.kept[source] = code
                self.compiled += 1
            self.used.add(source)
            source = code
        exec(source, globals_, locals_)  # noqa: S102 - the code dataclasses generated, as it runs it

    def save(self, path: Path) -> None:
        """Write the kept code atomically when this process compiled any; failing to is no error."""
        if not self.compiled or sys.dont_write_bytecode:
            return
        kept = self.kept
        if len(kept) > MAX_ENTRIES:
            kept = {source: kept[source] for source in self.used}
            if len(kept) > MAX_ENTRIES:
                return
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            data = _header() + marshal.dumps(kept)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except (OSError, ValueError):
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)


def install(package_dir: Path) -> CachedExec | None:
    """Route the dataclasses defined from now on through ``CachedExec``, kept in ``package_dir``'s
    ``__pycache__``; None (nothing changed) when byte code is not kept or another hook is in place."""
    tag = sys.implementation.cache_tag
    if tag is None or sys.pycache_prefix is not None or "exec" in vars(dataclasses):
        return None
    path = package_dir / "__pycache__" / f"{_FILE_PREFIX}.{tag}.marshal"
    hook = CachedExec(load(path))
    dataclasses.exec = hook  # type: ignore[attr-defined]
    atexit.register(hook.save, path)
    return hook


def load(path: Path) -> dict[str, CodeType]:
    """The kept code objects, or an empty memo when the file is missing or cannot be trusted."""
    try:
        if not _trusted(os.lstat(path.parent)):
            return {}
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return {}
    try:
        with os.fdopen(fd, "rb", closefd=False) as entry:
            info = os.fstat(fd)
            if not _trusted(info) or not stat.S_ISREG(info.st_mode):
                return {}
            data = entry.read()
    except OSError:
        return {}
    finally:
        os.close(fd)
    header = _header()
    if not data.startswith(header):
        return {}  # another interpreter wrote it: its byte code may not run here
    try:
        kept = marshal.loads(data[len(header) :])  # noqa: S302 - trusted as the .pyc files beside it
    except (EOFError, ValueError, TypeError):
        return {}
    if type(kept) is not dict or not all(type(k) is str and type(v) is CodeType for k, v in kept.items()):
        return {}
    return kept


def _header() -> bytes:
    # The exact interpreter build: marshal's format and the byte code both change between versions.
    return f"{_FILE_PREFIX} {sys.version} {sys.hexversion}\n".encode()


def _trusted(info: os.stat_result) -> bool:
    return info.st_uid in (os.getuid(), 0) and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
