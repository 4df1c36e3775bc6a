"""The limits of one cast: what the manifest asks for, capped by the operator's maxima.

One rule for everyone who needs them: the WASM runtime (what it enforces), the platform (what it
holds money for, and when it gives up on a cast whose runner was lost) and the local cast (what its
summary shows). Wasmtime-free, so none of them loads the runtime just to know its limits.
"""

from __future__ import annotations

from spell.bundle.manifest import SpellManifest, WasmSpec
from spell.config.wasm import WasmSettings
from spell.runtimes.base import Limits

__all__ = ["effective_limits", "limits_for"]

_MIB = 1024 * 1024


def effective_limits(spec: WasmSpec, defaults: Limits, maxima: WasmSettings) -> Limits:
    """Take each value from the manifest (else ``defaults``) and never exceed the operator's maximum."""
    timeout = spec.timeout_ms if spec.timeout_ms is not None else defaults.timeout_ms
    memory = spec.max_memory_mb * _MIB if spec.max_memory_mb is not None else defaults.max_memory_bytes
    stdout = int(spec.max_output_mb * _MIB) if spec.max_output_mb is not None else defaults.max_stdout_bytes
    fuel = spec.fuel if spec.fuel is not None else defaults.fuel
    return Limits(
        timeout_ms=min(timeout, maxima.max_timeout_ms),
        fuel=min(fuel if fuel is not None else maxima.max_fuel, maxima.max_fuel),
        max_memory_bytes=min(memory, maxima.max_memory_bytes),
        max_stack_bytes=min(defaults.max_stack_bytes, maxima.max_stack_bytes),
        max_stdout_bytes=min(stdout, maxima.max_stdout_bytes),
        max_stderr_bytes=min(defaults.max_stderr_bytes, maxima.max_stderr_bytes),
        max_table_elements=min(defaults.max_table_elements, maxima.max_table_elements),
    )


def limits_for(manifest: SpellManifest, maxima: WasmSettings) -> Limits:
    """The limits a cast of ``manifest`` runs under: a WASM spell's ``effective_limits``; the other
    runtimes bound themselves (step and container timeouts) and get the defaults, but for a workflow's
    own time limit (its run waits on GitHub, often for minutes)."""
    workflow = manifest.runtime.workflow
    if manifest.runtime.execution == "workflow" and workflow is not None:
        return Limits(timeout_ms=workflow.timeout_ms)
    spec = manifest.runtime.wasm
    if manifest.runtime.execution != "wasm" or spec is None:
        return Limits()
    return effective_limits(spec, Limits(), maxima)
