"""Runtime settings: ``SPELL_RUNTIME_*`` (input cap, step and cast timeouts, process limits)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from spell.config.group import layered, read, setting

__all__ = ["RuntimeSettings"]


@dataclass(frozen=True)
class RuntimeSettings:
    """Limits applied to every local cast."""

    env_prefix: ClassVar[str] = "SPELL_RUNTIME_"

    input_max_bytes: int = setting(65536, "largest cast input accepted, in bytes", ge=1)
    step_timeout_ms: int = setting(60_000, "time limit of one host step", ge=1)
    execution_timeout_ms: int = setting(
        0, "time limit of a whole cast; 0: none beyond the step timeouts", ge=0
    )
    cpu_seconds: int = setting(300, "CPU seconds a host step may use (RLIMIT_CPU)", ge=1)
    address_space_mb: int = setting(4096, "address space of a host step in MiB (RLIMIT_AS)", ge=16)
    open_files: int = setting(1024, "open files of a host step (RLIMIT_NOFILE)", ge=16)
    processes: int = setting(256, "processes of the host steps' user (RLIMIT_NPROC)", ge=1)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RuntimeSettings:
        """Read ``SPELL_RUNTIME_*`` variables, keeping defaults for the ones not set."""
        return read(cls, layered(environ), cls())
