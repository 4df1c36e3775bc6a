"""What every runtime takes and returns: ``run(CastRequest) -> CastResult``.

The request carries everything one cast needs, including how the caller talks to it while it runs:
the cancel signal and the progress and log sinks. A runtime takes nothing else.

Usage is measured, never estimated. Outcomes are a closed set so that billing and the API can
decide what to charge and what to show without parsing messages.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from spell.bundle.manifest import SpellManifest

__all__ = [
    "MAX_OUTPUT_DEPTH",
    "Artifact",
    "CastRequest",
    "CastResult",
    "Closes",
    "Limits",
    "LogSink",
    "Outcome",
    "ProgressSink",
    "Runtime",
    "Usage",
]

# Deepest JSON output a runtime hands on: the JSON column, the response serializer and canonical
# hashing each recurse once per level (and a cast's input may already be deep), so this stays far
# below Python's recursion limit; a realistic result nests a few levels.
MAX_OUTPUT_DEPTH = 128


class Outcome(enum.StrEnum):
    """How a cast ended."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"  # the spell itself failed (non-zero exit, failed step or check)
    TRAP = "TRAP"
    TIMEOUT = "TIMEOUT"
    FUEL_EXHAUSTED = "FUEL_EXHAUSTED"
    MEMORY_LIMIT = "MEMORY_LIMIT"
    OUTPUT_LIMIT = "OUTPUT_LIMIT"
    POLICY_VIOLATION = "POLICY_VIOLATION"
    CANCELED = "CANCELED"
    INTERNAL = "INTERNAL"  # a platform fault, never the spell's

    @property
    def is_success(self) -> bool:
        """True only for ``SUCCEEDED``."""
        return self is Outcome.SUCCEEDED


@dataclass(frozen=True)
class Limits:
    """Resource limits of one cast; ``None`` means the runtime's default."""

    timeout_ms: int = 30_000
    fuel: int | None = 2_000_000_000
    max_memory_bytes: int = 128 * 1024 * 1024
    max_stack_bytes: int = 1024 * 1024
    max_stdout_bytes: int = 4 * 1024 * 1024
    max_stderr_bytes: int = 1024 * 1024
    max_table_elements: int = 100_000


@dataclass
class Usage:
    """Measured resource use of one cast."""

    wall_ms: float = 0.0
    cpu_ms: float = 0.0
    fuel: int = 0
    peak_memory_bytes: int = 0
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    output_bytes: int = 0
    network_requests: int = 0
    network_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe mapping."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class Artifact:
    """A file a cast produced."""

    name: str
    path: Path
    size: int
    sha256: str
    media_type: str = "application/octet-stream"


#: Step progress from runtimes that run steps: (event, step name, detail), e.g. ("started", "fetch",
#: "attempt 1/3"). Called on the thread that runs the step; it must not raise.
ProgressSink = Callable[[str, str, str], None]
#: Output of a running step: (step name, "stdout" or "stderr", complete lines of text). Same rules.
LogSink = Callable[[str, str, str], None]


@dataclass(frozen=True)
class CastRequest:
    """Everything a runtime needs to run one cast."""

    bundle_dir: Path
    manifest: SpellManifest
    input: Any
    limits: Limits = Limits()  # ``spell.runtimes.limits.limits_for`` gives a manifest's, capped
    env: dict[str, str] = field(default_factory=dict)
    work_dir: Path | None = None  # where artifacts may be written; runtime-private when None
    # Set by anyone (another thread, a signal handler, the server) to stop the cast: the runtime
    # ends it as soon as it can and reports CANCELED.
    cancel: threading.Event | None = field(default=None, compare=False)
    # Where step progress goes (the server: the cast's events; the CLI: its verbose lines).
    progress: ProgressSink | None = field(default=None, compare=False)
    log: LogSink | None = field(default=None, compare=False)  # where step output goes as it is written
    # A budgeted attempt: the wall-clock limit is at most this (WASM; the caller reruns what overran it).
    within_s: float | None = None
    # Who casts it: the caster's tenant on a server (a workflow spell runs in that tenant's repository
    # only); None for a local cast.
    tenant_id: str | None = None


@dataclass
class CastResult:
    """What a runtime returns."""

    outcome: Outcome
    output: Any = None
    stdout: str = ""
    stderr: str = ""
    message: str = ""
    exit_code: int | None = None
    usage: Usage = field(default_factory=Usage)
    artifacts: list[Artifact] = field(default_factory=list)
    violations: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    # What the spell wrote to stderr, capped for logs (the execution log, the server's ``log``
    # events): a runtime whose spell has one stderr stream (WASM) fills it; empty otherwise.
    log: str = ""


class Runtime(Protocol):
    """A way to run spells."""

    def run(self, request: CastRequest) -> CastResult:
        """Run one cast to its end and return the measured result (never raises for spell faults)."""
        ...


@runtime_checkable
class Closes(Protocol):
    """A runtime holding something of its own between casts (threads, sandboxes started ahead), which
    its owner lets go once no cast runs; a later cast may take it up again."""

    def close(self) -> None:
        """Let go of what the runtime holds between casts."""
        ...
