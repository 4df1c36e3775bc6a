"""Runtime settings: ``SPELL_RUNTIME_*`` (input cap, step and cast timeouts, process limits)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from spell.errors import InvalidInput

__all__ = ["RuntimeSettings", "env_int"]


def env_int(env: dict[str, str] | os._Environ[str], name: str, default: int, *, minimum: int = 0) -> int:
    """Read an integer setting; refuse garbage with a message naming the variable."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(
            f"{name} must be an integer, got {raw!r}", hint=f"unset {name} or give a whole number"
        ) from None
    if value < minimum:
        raise InvalidInput(f"{name} must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class RuntimeSettings:
    """Limits applied to every local cast."""

    input_max_bytes: int = 65536
    step_timeout_ms: int = 60_000
    execution_timeout_ms: int = 0  # 0 = no cast-wide limit beyond the step timeouts
    cpu_seconds: int = 300
    address_space_mb: int = 4096
    open_files: int = 1024
    processes: int = 256

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> RuntimeSettings:
        """Read ``SPELL_RUNTIME_*`` variables, keeping defaults for the ones not set."""
        env = os.environ if environ is None else environ
        d = cls()
        return cls(
            input_max_bytes=env_int(env, "SPELL_RUNTIME_INPUT_MAX_BYTES", d.input_max_bytes, minimum=1),
            step_timeout_ms=env_int(env, "SPELL_RUNTIME_STEP_TIMEOUT_MS", d.step_timeout_ms, minimum=1),
            execution_timeout_ms=env_int(env, "SPELL_RUNTIME_EXECUTION_TIMEOUT_MS", d.execution_timeout_ms),
            cpu_seconds=env_int(env, "SPELL_RUNTIME_CPU_SECONDS", d.cpu_seconds, minimum=1),
            address_space_mb=env_int(env, "SPELL_RUNTIME_ADDRESS_SPACE_MB", d.address_space_mb, minimum=16),
            open_files=env_int(env, "SPELL_RUNTIME_OPEN_FILES", d.open_files, minimum=16),
            processes=env_int(env, "SPELL_RUNTIME_PROCESSES", d.processes, minimum=1),
        )
