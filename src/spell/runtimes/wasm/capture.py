"""Captured guest output with a hard cap: kernel-capped memory files, or Python callbacks elsewhere.

wasmtime calls an output callback — and, once the store is gone, its finalizer — from one of its
own (tokio) worker threads, not from the thread running the guest. Two ways to capture:

* ``MemfdSink`` (Linux, the default): the callback is libc's ``write`` into a sealed memory file
  whose size is fixed just past the cap, and the finalizer is libc's ``close``. No Python runs per
  write or at release, so a write costs no GIL hand-over between threads, and nothing can call
  into a finalizing interpreter. The kernel refuses bytes past the file's end, which holds the cap
  at write time; the epoch callback sees the overflow at the next tick (``Watch.check``).
* ``CappedSink`` (anywhere): a Python callback per write. A Python callback entered on a wasmtime
  thread while the interpreter is finalizing ends that thread with a forced unwind, which Rust
  turns into an abort of the whole process. So every such sink is registered here until wasmtime
  releases it, and ``wait_released`` lets process exit wait for the last release (``shutdown.py``).
"""

from __future__ import annotations

import ctypes
import errno
import itertools
import mmap
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

from spell.runtimes.wasm.interrupt import Watch

__all__ = [
    "LOG_BYTES",
    "NATIVE_OUTPUT",
    "CappedSink",
    "MemfdSink",
    "OutputSink",
    "log_tail",
    "open_output",
    "wait_released",
]

#: The most of a guest's stderr a log keeps (the cast's own cap, ``max_stderr_bytes``, is larger).
LOG_BYTES = 64 * 1024

# The same signatures wasmtime-py declares, so the bindings accept these callbacks.
_WRITE_TYPE: Any = ctypes.CFUNCTYPE(
    ctypes.c_ssize_t, ctypes.c_void_p, ctypes.POINTER(ctypes.c_ubyte), ctypes.c_size_t
)
_FINALIZE_TYPE: Any = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_Setter = Callable[..., None]


class CappedSink:
    """Collects one stream of a guest (stdout or stderr) up to ``limit`` bytes, in Python."""

    def __init__(self, name: str, limit: int, watch: Watch) -> None:
        self.name = name
        self.limit = limit
        self.buffer = bytearray()
        self.attempted = 0  # bytes the guest tried to write, kept or not
        self._watch = watch

    def write(self, data: bytes) -> int:
        """WASI write callback: accept what fits; past the cap fail the write and flag the cast."""
        try:
            self.attempted += len(data)
            room = self.limit - len(self.buffer)
            if len(data) <= room:
                self.buffer += data
                return len(data)
            self.buffer += data[: max(room, 0)]
            if self._watch.output_overflow is None:
                self._watch.output_overflow = self.name
            return -errno.EFBIG
        except BaseException:  # never unwind into wasmtime (see interrupt.py)
            return -errno.EIO

    @property
    def overflowed(self) -> bool:
        """True when the guest wrote more than the cap."""
        return self.attempted > self.limit

    def connect(self, wasi: wasmtime.WasiConfig, setter: _Setter) -> None:
        """Become the stream ``setter`` configures; registered until wasmtime drops it."""
        key = next(_IDS)
        with _RELEASED:
            _SINKS[key] = self
        setter(wasi.ptr(), _WRITE, ctypes.c_void_p(key), _RELEASE)

    def finish(self) -> bytes:
        """The bytes kept (at most ``limit``); call once the guest has stopped."""
        return bytes(self.buffer)


_PAGE = mmap.PAGESIZE


class MemfdSink:
    """Collects one stream of a guest in a sealed memory file that cannot grow past the cap.

    The file is ``limit`` rounded up to the next page plus one page long, so a guest that writes
    more than ``limit`` bytes always leaves the shared file offset past ``limit``; its extra bytes
    are never read back. Memory held is at most that file size.
    """

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = limit
        self.attempted = 0  # set by finish(): bytes written; past the cap, at least limit + 1
        self._fd: int | None = os.memfd_create(f"spell-{name}", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        self._theirs: int | None = None
        try:
            os.ftruncate(self._fd, (limit // _PAGE + 1) * _PAGE)
            seals = _fcntl.F_SEAL_GROW | _fcntl.F_SEAL_SHRINK | _fcntl.F_SEAL_SEAL
            _fcntl.fcntl(self._fd, _fcntl.F_ADD_SEALS, seals)
            # wasmtime's own descriptor of the same open file, so the same offset (see connect)
            self._theirs = _fcntl.fcntl(self._fd, _fcntl.F_DUPFD_CLOEXEC, 0)
        except OSError:
            self.close()
            raise

    @property
    def overflowed(self) -> bool:
        """True when the guest wrote more than the cap (read from the shared file offset)."""
        return self._written() > self.limit

    def connect(self, wasi: wasmtime.WasiConfig, setter: _Setter) -> None:
        """Become the stream ``setter`` configures.

        wasmtime gets the second descriptor: it writes with libc ``write`` and closes it with libc
        ``close`` whenever it releases the stream, which may be after ``finish`` closed ours.
        """
        theirs, self._theirs = self._theirs, None
        if theirs is None:
            raise ValueError("the sink is already connected or closed")
        setter(wasi.ptr(), _NATIVE_WRITE, ctypes.c_void_p(theirs), _NATIVE_CLOSE)

    def finish(self) -> bytes:
        """The bytes kept (at most ``limit``); closes this side. Call once the guest has stopped."""
        try:
            self.attempted = self._written()
            return _read(self._fd, min(self.attempted, self.limit)) if self._fd is not None else b""
        finally:
            self.close()

    def close(self) -> None:
        """Close this side of the file, and wasmtime's if it was never handed over (idempotent)."""
        for fd in (self._fd, self._theirs):
            if fd is not None:
                os.close(fd)
        self._fd = self._theirs = None

    def _written(self) -> int:
        return os.lseek(self._fd, 0, os.SEEK_CUR) if self._fd is not None else self.attempted


OutputSink = CappedSink | MemfdSink


def _read(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    offset = 0
    while offset < size:
        chunk = os.pread(fd, size - offset, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _native() -> tuple[Any, Any, Any] | None:
    # Function pointers to libc's write(int, const void *, size_t) and close(int) used as
    # callback(void *data, const u8 *buf, size_t len) and finalizer(void *data): on the Linux ABIs
    # an int argument is the low half of the pointer register that carries data (the fd).
    if not sys.platform.startswith("linux") or not hasattr(os, "memfd_create"):
        return None
    try:
        import fcntl

        libc = ctypes.CDLL(None)
        write = ctypes.cast(libc.write, ctypes.c_void_p).value
        close = ctypes.cast(libc.close, ctypes.c_void_p).value
    except (OSError, AttributeError, ImportError):  # pragma: no cover — a Linux without a usable libc
        return None
    return fcntl, _WRITE_TYPE(write), _FINALIZE_TYPE(close)


_found = _native()
#: True when output is captured without Python callbacks (``MemfdSink``).
NATIVE_OUTPUT = _found is not None
_fcntl: Any = _found[0] if _found is not None else None
_NATIVE_WRITE: Any = _found[1] if _found is not None else None
_NATIVE_CLOSE: Any = _found[2] if _found is not None else None


def open_output(
    wasi: wasmtime.WasiConfig,
    *,
    stdout_limit: int,
    stderr_limit: int,
    watch: Watch,
    native: bool | None = None,
) -> tuple[OutputSink, OutputSink]:
    """Route the guest's stdout and stderr into new capped sinks, which ``watch`` checks at each tick.

    ``native`` (default ``NATIVE_OUTPUT``) picks ``MemfdSink``; where a memory file cannot be made
    (e.g. no descriptors left), or with ``native=False``, the stream gets a ``CappedSink``.
    """
    if native is None:
        native = NATIVE_OUTPUT
    stdout = _sink("stdout", stdout_limit, watch, native=native)
    stderr = _sink("stderr", stderr_limit, watch, native=native)
    stdout.connect(wasi, ffi.wasi_config_set_stdout_custom)
    stderr.connect(wasi, ffi.wasi_config_set_stderr_custom)
    watch.outputs = (stdout, stderr)
    return stdout, stderr


def _sink(name: str, limit: int, watch: Watch, *, native: bool) -> OutputSink:
    if native:
        try:
            return MemfdSink(name, limit)
        except OSError:
            pass  # only speed is lost
    return CappedSink(name, limit, watch)


_SINKS: dict[int, CappedSink] = {}
_RELEASED = threading.Condition()
_IDS = itertools.count(1)


def _on_write(data: Any, buf: Any, size: int) -> int:
    try:
        sink = _SINKS.get(int(data or 0))
        if sink is None:
            return -errno.EIO
        return sink.write(ctypes.string_at(buf, size) if size else b"")
    except BaseException:  # a C callback must not unwind
        return -errno.EIO


def _on_release(data: Any) -> None:
    try:
        with _RELEASED:
            _SINKS.pop(int(data or 0), None)
            _RELEASED.notify_all()
    except BaseException:  # noqa: S110 — a C callback must not unwind; nothing is left to clean up
        pass


_WRITE = _WRITE_TYPE(_on_write)
_RELEASE = _FINALIZE_TYPE(_on_release)


def wait_released(timeout_s: float) -> bool:
    """Wait until wasmtime has released every Python sink; False when ``timeout_s`` passed first."""
    deadline = time.monotonic() + timeout_s
    with _RELEASED:
        while _SINKS:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            _RELEASED.wait(left)
        return True


def log_tail(data: bytes, *, written: int | None = None, limit: int = LOG_BYTES) -> str:
    """The last ``limit`` bytes of a captured stream as text, led by a marker when anything was cut.

    ``written`` is how much the guest wrote (more than ``data`` when the capture cap cut it too).
    The tail is kept because it is what explains a failure (a panic message, the last error line).
    """
    total = max(written if written is not None else 0, len(data))
    kept = data[-limit:] if len(data) > limit else data
    text = kept.decode("utf-8", errors="replace")
    if total > len(kept):
        return f"[… {total - len(kept)} bytes cut …]\n" + text
    return text
