"""A ``poll_oneoff`` that sleeps within the cast's wall clock and wakes on cancel.

wasmtime's own ``poll_oneoff`` blocks the thread for as long as the guest asks, where epoch
interruption cannot reach it; a guest sleeping for an hour would hold a worker for an hour. This one
replaces it: clock subscriptions sleep at most until the cast's deadline (waking at once on cancel),
fd subscriptions are reported ready at once (stdio is in memory, files never block).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable

import wasmtime

from spell.runtimes.wasm import guest_memory
from spell.runtimes.wasm.interrupt import Watch

__all__ = ["define_poll_oneoff"]

_SUB_SIZE = 48
_EVENT_SIZE = 32
_EVENTTYPE_CLOCK = 0
_ERRNO_SUCCESS = 0
_ERRNO_FAULT = 21
_ERRNO_INVAL = 28
_ABSTIME = 1
_MAX_SUBSCRIPTIONS = 4096


def define_poll_oneoff(linker: wasmtime.Linker, watch_of: Callable[[], Watch | None]) -> None:
    """Shadow WASI's ``poll_oneoff`` in ``linker``; ``watch_of`` gives the calling cast's watch."""
    i32 = wasmtime.ValType.i32()
    ty = wasmtime.FuncType([i32, i32, i32, i32], [i32])

    def poll_oneoff(caller: wasmtime.Caller, in_ptr: int, out_ptr: int, nsubs: int, nevents_ptr: int) -> int:
        try:
            watch = watch_of()
            if watch is None:  # called outside a cast: nothing bounds a sleep, so refuse it
                return _ERRNO_FAULT
            return _poll(caller, watch, in_ptr, out_ptr, nsubs, nevents_ptr)
        except Exception:  # bad pointers and the like: an errno for the guest, never an unwind
            return _ERRNO_FAULT

    linker.define_func("wasi_snapshot_preview1", "poll_oneoff", ty, poll_oneoff, access_caller=True)


def _poll(
    caller: wasmtime.Caller, watch: Watch, in_ptr: int, out_ptr: int, nsubs: int, nevents_ptr: int
) -> int:
    memory = caller.get("memory")
    if not isinstance(memory, wasmtime.Memory):
        return _ERRNO_FAULT
    nsubs = guest_memory.unsigned(nsubs)
    if nsubs == 0 or nsubs > _MAX_SUBSCRIPTIONS:
        return _ERRNO_INVAL
    raw = guest_memory.read(memory, caller, in_ptr, nsubs * _SUB_SIZE)
    subs = [raw[i * _SUB_SIZE : (i + 1) * _SUB_SIZE] for i in range(nsubs)]
    ready = [s for s in subs if s[8] != _EVENTTYPE_CLOCK]
    if not ready:
        wait_s = min(_clock_wait_s(s) for s in subs)
        chosen = _sleep(watch, wait_s)
        ready = [s for s in subs if chosen and _clock_wait_s(s) <= wait_s]
    events = bytearray()
    for sub in ready:
        userdata, tag = struct.unpack_from("<QB", sub, 0)
        events += struct.pack("<QHB5xQH6x", userdata, _ERRNO_SUCCESS, tag, 0, 0)
    guest_memory.write(memory, caller, out_ptr, bytes(events))
    guest_memory.write(memory, caller, nevents_ptr, struct.pack("<I", len(ready)))
    return _ERRNO_SUCCESS


def _clock_wait_s(sub: bytes | bytearray) -> float:
    clock_id, timeout_ns, _precision, flags = struct.unpack_from("<I4xQQH", sub, 16)
    if flags & _ABSTIME:
        now = time.time_ns() if clock_id == 0 else time.monotonic_ns()
        return max(0, int(timeout_ns) - now) / 1e9
    return int(timeout_ns) / 1e9


def _sleep(watch: Watch, wait_s: float) -> bool:
    """Sleep up to ``wait_s``; False when the cast's deadline or a cancel cut the sleep short."""
    budget = watch.remaining_s()
    span = min(wait_s, budget)
    if span > 0 and watch.check() is None:  # already stopped (e.g. the process is exiting): no sleep
        watch.cancel.wait(span)  # the sleep the guest asked for, bounded; a cancel cuts it short
    # Recording the stop here makes it stick even if the guest returns before the next epoch tick.
    return watch.check() is None
