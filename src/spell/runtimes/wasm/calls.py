"""Look up an export and call ``_start`` without wasmtime-py's per-call reflection.

``Instance.exports`` wraps every export and ``Func.__call__`` builds the function's type on each
call; a cast needs two exports and one call with no parameters, and the difference is about 5 % of
a small cast. Errors surface exactly as wasmtime-py raises them (``ExitTrap``, ``Trap``,
``WasmtimeError``). If wasmtime-py's internals move, the public API is used instead.
"""

from __future__ import annotations

import ctypes
from typing import Any

import wasmtime

__all__ = ["call_no_args", "get_export"]

try:
    from wasmtime import _ffi as ffi
    from wasmtime._extern import wrap_extern

    _FAST = all(hasattr(ffi, name) for name in ("wasmtime_instance_export_get", "wasmtime_func_call"))
except ImportError:  # pragma: no cover — only with a wasmtime-py whose internals changed
    _FAST = False


def get_export(store: wasmtime.Store, instance: wasmtime.Instance, name: str) -> Any:
    """The export called ``name`` of ``instance``, or None."""
    if not _FAST:
        return instance.exports(store).get(name)
    item = ffi.wasmtime_extern_t()
    raw = name.encode()
    found = ffi.wasmtime_instance_export_get(
        store._context(), ctypes.byref(instance._instance), raw, len(raw), ctypes.byref(item)
    )
    return wrap_extern(item) if found else None


def call_no_args(store: wasmtime.Store, func: wasmtime.Func) -> None:
    """Call a ``() -> ()`` function, raising what ``func(store)`` would raise."""
    if not _FAST:
        func(store)
        return
    trap = ctypes.POINTER(ffi.wasm_trap_t)()
    error = ffi.wasmtime_func_call(
        store._context(), ctypes.byref(func._func), None, 0, None, 0, ctypes.byref(trap)
    )
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)
    if trap:
        raise wasmtime.Trap._from_ptr(trap)
