"""Call ``_start`` and read the memory size straight from the export, without wasmtime-py's wrappers.

``Instance.exports`` wraps every export, ``wrap_extern`` imports its classes on each call and
``Func.__call__`` builds the function's type every time; a cast needs one call with no parameters
and one memory size, which the C API gives from the export record itself. Errors surface exactly as
wasmtime-py raises them (``ExitTrap``, ``Trap``, ``WasmtimeError``). If wasmtime-py's internals
move, the public API is used instead.
"""

from __future__ import annotations

import ctypes
from typing import Any

import wasmtime

__all__ = ["memory_bytes", "run_start"]

try:
    from wasmtime import _ffi as ffi

    _FAST = all(
        hasattr(ffi, name)
        for name in (
            "wasmtime_instance_export_get",
            "wasmtime_func_call",
            "wasmtime_memory_data_size",
            "WASMTIME_EXTERN_FUNC",
            "WASMTIME_EXTERN_MEMORY",
        )
    )
except ImportError:  # pragma: no cover — only with a wasmtime-py whose internals changed
    _FAST = False

if _FAST:
    _FUNC = ffi.WASMTIME_EXTERN_FUNC.value
    _MEMORY = ffi.WASMTIME_EXTERN_MEMORY.value


def run_start(store: wasmtime.Store, instance: wasmtime.Instance) -> bool:
    """Call the ``() -> ()`` export ``_start``; False when there is no such function.

    Raises what ``start(store)`` would raise.
    """
    if not _FAST:
        return _run_start_public(store, instance)
    item = _export(store, instance, b"_start")
    if item is None or item.kind != _FUNC:
        return False
    trap = ctypes.POINTER(ffi.wasm_trap_t)()
    context = store._context()
    error = ffi.wasmtime_func_call(context, ctypes.byref(item.of.func), None, 0, None, 0, ctypes.byref(trap))
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)
    if trap:
        raise wasmtime.Trap._from_ptr(trap)
    return True


def memory_bytes(store: wasmtime.Store, instance: wasmtime.Instance) -> int:
    """The size of the exported ``memory`` (WASI modules' one linear memory); 0 without one."""
    if not _FAST:
        memory = instance.exports(store).get("memory")
        return memory.data_len(store) if isinstance(memory, wasmtime.Memory) else 0
    item = _export(store, instance, b"memory")
    if item is None or item.kind != _MEMORY:
        return 0
    return int(ffi.wasmtime_memory_data_size(store._context(), ctypes.byref(item.of.memory)))


def _export(store: wasmtime.Store, instance: wasmtime.Instance, name: bytes) -> Any:
    item = ffi.wasmtime_extern_t()
    found = ffi.wasmtime_instance_export_get(
        store._context(), ctypes.byref(instance._instance), name, len(name), ctypes.byref(item)
    )
    return item if found else None


def _run_start_public(store: wasmtime.Store, instance: wasmtime.Instance) -> bool:
    start = instance.exports(store).get("_start")
    if not isinstance(start, wasmtime.Func):
        return False
    start(store)
    return True
