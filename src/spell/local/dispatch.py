"""Choose the runtime of a spell by ``manifest.runtime.execution``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from spell.bundle.manifest import SpellManifest
from spell.config.docker import DockerOptions
from spell.config.wasm import WasmSettings
from spell.errors import PolicyViolation
from spell.runtimes.base import Runtime
from spell.runtimes.host.engine import EngineSettings
from spell.runtimes.host.runtime import HostRuntime

__all__ = ["RuntimeChoice", "runtime_for"]


@dataclass(frozen=True)
class RuntimeChoice:
    """Settings for every runtime a local cast may pick."""

    engine: EngineSettings = field(default_factory=EngineSettings)
    docker: DockerOptions = field(default_factory=DockerOptions)
    wasm_factory: Callable[[], Runtime] | None = None
    wasm_settings: WasmSettings | None = (
        None  # the operator's maxima (shown in the summary); defaults if None
    )


def runtime_for(manifest: SpellManifest, choice: RuntimeChoice) -> Runtime:
    """The runtime that runs ``manifest``; executions not available locally are refused."""
    execution = manifest.runtime.execution
    if execution == "host":
        return HostRuntime(choice.engine)
    if execution == "docker":
        from spell.runtimes.docker import DockerRuntime  # only docker spells need it

        return DockerRuntime(choice.docker)
    if execution == "api":
        from spell.runtimes.api import ApiRuntime

        return ApiRuntime(choice.engine.egress)  # unsigned: only a server holds the maker's secret
    if execution == "builtin":
        from spell.runtimes.builtin import BuiltinRuntime

        return BuiltinRuntime()
    if execution == "wasm":
        return (
            choice.wasm_factory() if choice.wasm_factory is not None else _default_wasm(choice.wasm_settings)
        )
    raise PolicyViolation(
        f"execution {execution!r} is not available for local casts",
        details={"execution": execution},
        hint="run `spell builtins` and see docs/bundles.md for the executions this version knows",
    )


def _default_wasm(settings: WasmSettings | None) -> Runtime:
    from spell.runtimes.wasm import WasmRuntime  # wasmtime is heavy: imported only for wasm spells

    return WasmRuntime(settings)
