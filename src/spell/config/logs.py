"""Execution-log settings of local casts: ``SPELL_API_LOG_*`` (how long and how many logs are kept)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from spell.config.group import layered, read, setting

__all__ = ["LogSettings"]


@dataclass(frozen=True)
class LogSettings:
    """Old execution logs under ``$SPELL_HOME/logs`` are pruned after each local cast."""

    env_prefix: ClassVar[str] = "SPELL_API_LOG_"

    retention_days: int = setting(14, "days an execution log is kept", ge=0)
    max_files: int = setting(500, "execution logs kept at most", ge=0)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LogSettings:
        """Read ``SPELL_API_LOG_RETENTION_DAYS`` and ``SPELL_API_LOG_MAX_FILES``."""
        return read(cls, layered(environ), cls())
