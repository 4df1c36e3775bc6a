"""Captured guest output with a hard cap: bytes past the cap are refused at write time."""

from __future__ import annotations

import errno

from spell.runtimes.wasm.interrupt import Watch

__all__ = ["CappedSink"]


class CappedSink:
    """Collects one stream of a guest (stdout or stderr) up to ``limit`` bytes."""

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
