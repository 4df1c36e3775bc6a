"""Bounds-checked access to a guest's linear memory from host functions.

wasmtime-py's ``Memory.read`` clamps like a slice and treats negative offsets as counted from the
end, and guest pointers arrive as *signed* i32 values — so a hostile pointer could read the wrong
bytes silently. These helpers take pointers as unsigned and refuse anything out of bounds.
"""

from __future__ import annotations

import wasmtime

__all__ = ["read", "unsigned", "write"]

_U32 = 0xFFFFFFFF


def unsigned(value: int) -> int:
    """An i32 argument as the unsigned 32-bit value the guest meant."""
    return value & _U32


def read(memory: wasmtime.Memory, store: wasmtime.Caller, ptr: int, length: int) -> bytes:
    """``length`` bytes at ``ptr``; ``IndexError`` when any of them is outside the memory."""
    start, size = unsigned(ptr), unsigned(length)
    if start + size > memory.data_len(store):
        raise IndexError("guest pointer out of bounds")
    return bytes(memory.read(store, start, start + size)) if size else b""


def write(memory: wasmtime.Memory, store: wasmtime.Caller, ptr: int, data: bytes) -> None:
    """Write ``data`` at ``ptr``; ``IndexError`` when it does not fit."""
    start = unsigned(ptr)
    if start + len(data) > memory.data_len(store):
        raise IndexError("guest pointer out of bounds")
    if data:
        memory.write(store, data, start)
