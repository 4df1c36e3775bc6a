"""Choose the runtime of a spell by ``manifest.runtime.execution``."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from spell.bundle.manifest import SpellManifest
from spell.config.wasm import WasmSettings
from spell.errors import PolicyViolation
from spell.runtimes.base import CastRequest, CastResult, Runtime
from spell.runtimes.docker import DockerOptions, DockerRuntime
from spell.runtimes.host.engine import EngineSettings, ProgressHook
from spell.runtimes.host.runtime import HostRuntime

__all__ = ["CancellableRuntime", "RuntimeChoice", "runtime_for"]


class CancellableRuntime(Protocol):
    """A runtime whose ``run`` also accepts a cancellation event."""

    def run(self, request: CastRequest, *, cancel: threading.Event | None = None) -> CastResult:
        """Run one cast."""
        ...


@dataclass(frozen=True)
class RuntimeChoice:
    """Settings for every runtime a local cast may pick."""

    engine: EngineSettings = field(default_factory=EngineSettings)
    docker: DockerOptions = field(default_factory=DockerOptions)
    wasm_factory: Callable[[], Runtime] | None = None
    wasm_settings: WasmSettings | None = (
        None  # the operator's maxima (shown in the summary); defaults if None
    )
    progress: ProgressHook | None = None


def runtime_for(manifest: SpellManifest, choice: RuntimeChoice) -> CancellableRuntime:
    """The runtime that runs ``manifest``; executions not available locally are refused."""
    execution = manifest.runtime.execution
    if execution == "host":
        return HostRuntime(choice.engine, progress=choice.progress)
    if execution == "docker":
        return DockerRuntime(choice.docker)
    if execution == "wasm":
        settings = choice.wasm_settings
        return _CancelThroughRequest(choice.wasm_factory or (lambda: _default_wasm(settings)))
    raise PolicyViolation(
        f"execution {execution!r} is not available for local casts",
        details={"execution": execution},
        hint="builtin and api spells run on a Spell server: publish the spell there and cast it over its API",
    )


def _default_wasm(settings: WasmSettings | None) -> Runtime:
    from spell.runtimes.wasm import WasmRuntime  # wasmtime is heavy: imported only for wasm spells

    return WasmRuntime(settings)


class _CancelThroughRequest:
    """Adapts a runtime that reads its cancel signal from ``CastRequest.cancel`` (WASM)."""

    def __init__(self, factory: Callable[[], Runtime]) -> None:
        self.factory = factory

    def run(self, request: CastRequest, *, cancel: threading.Event | None = None) -> CastResult:
        """Run the cast; setting ``cancel`` stops a running guest within one epoch tick (``CANCELED``)."""
        if cancel is not None:
            request = dataclasses.replace(request, cancel=cancel)
        return self.factory().run(request)
