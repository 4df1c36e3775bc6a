"""WASM runtime settings: ``SPELL_WASM_*`` — the operator's maxima and the compiled-module caches.

A manifest may ask for less than these values, never more: the runtime caps every manifest limit by
the matching maximum here. The edges (CLI, server) read them once and pass the frozen value down.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from spell.config.group import layered, read, setting

__all__ = ["WasmSettings"]

_KIB = 1024
_MIB = 1024 * 1024


def _path(raw: str) -> Path:
    return Path(raw).expanduser()


@dataclass(frozen=True)
class WasmSettings:
    """Operator maxima and defaults of the WASM runtime (all sizes in bytes, times in ms)."""

    env_prefix: ClassVar[str] = "SPELL_WASM_"

    max_timeout_ms: int = setting(30_000, "wall-clock limit of a WASM cast", ge=1)
    max_fuel: int = setting(10_000_000_000, "instructions (fuel) a WASM cast may execute", ge=1)
    max_memory_bytes: int = setting(
        256 * _MIB,
        "linear memory of a WASM cast",
        ge=_MIB,
        unit_aliases={"SPELL_WASM_MAX_MEMORY_MB": _MIB},
        shown_default="256 MiB",
    )
    max_stdout_bytes: int = setting(
        8 * _MIB,
        "output (stdout) of a WASM cast",
        ge=_MIB,
        unit_aliases={"SPELL_WASM_MAX_OUTPUT_MB": _MIB},
        shown_default="8 MiB",
    )
    max_stderr_bytes: int = setting(
        1 * _MIB,
        "captured stderr of a WASM cast",
        ge=_KIB,
        unit_aliases={"SPELL_WASM_MAX_STDERR_KB": _KIB},
        shown_default="1 MiB",
    )
    max_stack_bytes: int = setting(
        1 * _MIB,
        "WASM stack of a cast",
        ge=64 * _KIB,
        unit_aliases={"SPELL_WASM_MAX_STACK_KB": _KIB},
        shown_default="1 MiB",
    )
    max_table_elements: int = setting(100_000, "elements of a WASM table", ge=1)
    max_module_bytes: int = setting(
        32 * _MIB,
        "size of a WASM module",
        ge=_MIB,
        unit_aliases={"SPELL_WASM_MAX_MODULE_MB": _MIB},
        shown_default="32 MiB",
    )
    max_artifact_bytes: int = setting(
        64 * _MIB, "artifacts of one WASM cast together", ge=1, shown_default="64 MiB"
    )
    egress_max_requests: int = setting(32, "HTTPS requests of one WASM cast (allow-listed hosts)", ge=0)
    egress_max_request_bytes: int = setting(
        1 * _MIB, "body of one egress request", ge=1, shown_default="1 MiB"
    )
    egress_max_response_bytes: int = setting(
        4 * _MIB, "body of one egress response", ge=1, shown_default="4 MiB"
    )
    egress_timeout_ms: int = setting(10_000, "time limit of one egress request", ge=1)
    module_cache_entries: int = setting(64, "compiled modules kept in memory", ge=1)
    cache_dir: Path | None = setting(
        None,
        "the on-disk cache of compiled modules",
        parse=_path,
        shown_default="`$SPELL_HOME/cache`",
    )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, cache_dir: Path | None = None
    ) -> WasmSettings:
        """Read ``SPELL_WASM_*``; ``cache_dir`` comes from the edge (usually ``$SPELL_HOME/cache``)."""
        return read(cls, layered(environ), cls(cache_dir=cache_dir))
