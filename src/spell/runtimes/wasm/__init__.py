"""The ``wasm`` runtime: WASI preview 1 command modules run by wasmtime (contracts in README.md)."""

from __future__ import annotations

from spell.runtimes.limits import effective_limits
from spell.runtimes.wasm.egress import EgressOptions
from spell.runtimes.wasm.runtime import WasmRuntime

__all__ = ["EgressOptions", "WasmRuntime", "effective_limits"]
