"""WASM runtime settings: ``SPELL_WASM_*`` — the operator's maxima and the compiled-module caches.

A manifest may ask for less than these values, never more: the runtime caps every manifest limit by
the matching maximum here. The edges (CLI, server) read them once and pass the frozen value down.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from spell.config.runtime import env_int

__all__ = ["WasmSettings"]

_MIB = 1024 * 1024


@dataclass(frozen=True)
class WasmSettings:
    """Operator maxima and defaults of the WASM runtime (all sizes in bytes, times in ms)."""

    max_timeout_ms: int = 30_000
    max_fuel: int = 10_000_000_000
    max_memory_bytes: int = 256 * _MIB
    max_stdout_bytes: int = 8 * _MIB
    max_stderr_bytes: int = 1 * _MIB
    max_stack_bytes: int = 1 * _MIB
    max_table_elements: int = 100_000
    max_module_bytes: int = 32 * _MIB
    max_artifact_bytes: int = 64 * _MIB
    egress_max_requests: int = 32
    egress_max_request_bytes: int = 1 * _MIB
    egress_max_response_bytes: int = 4 * _MIB
    egress_timeout_ms: int = 10_000
    module_cache_entries: int = 64
    cache_dir: Path | None = None  # on-disk AOT cache; None keeps compiled modules in memory only

    @classmethod
    def from_env(
        cls, environ: dict[str, str] | None = None, *, cache_dir: Path | None = None
    ) -> WasmSettings:
        """Read ``SPELL_WASM_*``; ``cache_dir`` comes from the edge (usually ``$SPELL_HOME/cache``)."""
        env = os.environ if environ is None else environ
        d = cls()
        raw_cache = env.get("SPELL_WASM_CACHE_DIR")
        return cls(
            max_timeout_ms=env_int(env, "SPELL_WASM_MAX_TIMEOUT_MS", d.max_timeout_ms, minimum=1),
            max_fuel=env_int(env, "SPELL_WASM_MAX_FUEL", d.max_fuel, minimum=1),
            max_memory_bytes=env_int(env, "SPELL_WASM_MAX_MEMORY_MB", d.max_memory_bytes // _MIB, minimum=1)
            * _MIB,
            max_stdout_bytes=env_int(env, "SPELL_WASM_MAX_OUTPUT_MB", d.max_stdout_bytes // _MIB, minimum=1)
            * _MIB,
            max_stderr_bytes=env_int(env, "SPELL_WASM_MAX_STDERR_KB", d.max_stderr_bytes // 1024, minimum=1)
            * 1024,
            max_stack_bytes=env_int(env, "SPELL_WASM_MAX_STACK_KB", d.max_stack_bytes // 1024, minimum=64)
            * 1024,
            max_module_bytes=env_int(env, "SPELL_WASM_MAX_MODULE_MB", d.max_module_bytes // _MIB, minimum=1)
            * _MIB,
            egress_max_requests=env_int(env, "SPELL_WASM_EGRESS_MAX_REQUESTS", d.egress_max_requests),
            egress_timeout_ms=env_int(env, "SPELL_WASM_EGRESS_TIMEOUT_MS", d.egress_timeout_ms, minimum=1),
            module_cache_entries=env_int(
                env, "SPELL_WASM_MODULE_CACHE_ENTRIES", d.module_cache_entries, minimum=1
            ),
            cache_dir=Path(raw_cache).expanduser() if raw_cache else cache_dir,
        )
