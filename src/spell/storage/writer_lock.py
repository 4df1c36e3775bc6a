"""SQLite's one writer, taken in turn by threads and by processes, handed over at once.

SQLite lets one connection write at a time; the others wait in its busy handler, which sleeps 1, 2, 5,
10… ms between tries — most of a write's latency as soon as two writers meet. Threads of a process
queue on a Python lock instead, and processes sharing the database file (several server processes, a
CLI command beside the server) on an advisory ``flock`` of a file next to it: the kernel wakes the
next waiter the moment the lock is released.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from types import TracebackType

__all__ = ["WriterLock"]


class WriterLock:
    """Re-entrant within a thread; exclusive across threads and, with ``path``, across processes."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._threads = threading.RLock()
        self._depth = 0  # guarded by _threads
        self._fd: int | None = None
        self._fd_pid = 0  # a forked child opens its own description: flock locks belong to one

    def acquire(self, blocking: bool = True) -> bool:
        """Take the lock (wait for it unless ``blocking`` is False); True when taken."""
        if not self._threads.acquire(blocking):
            return False
        try:
            if self._depth == 0 and self._path is not None:
                fcntl.flock(self._file(), fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._threads.release()
            return False
        except BaseException:
            self._threads.release()
            raise
        self._depth += 1
        return True

    def release(self) -> None:
        """Give back one ``acquire``; the last one lets other threads and processes in."""
        self._depth -= 1
        try:
            if self._depth == 0 and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(
        self, _kind: type[BaseException] | None, _error: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.release()

    def _file(self) -> int:
        if self._fd is None or self._fd_pid != os.getpid():
            assert self._path is not None  # noqa: S101 - only called with a path
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._fd_pid = os.getpid()
        return self._fd

    def close(self) -> None:
        """Close the lock file (it is opened again on the next write)."""
        with self._threads:
            if self._fd is not None and self._fd_pid == os.getpid():
                os.close(self._fd)
            self._fd = None
