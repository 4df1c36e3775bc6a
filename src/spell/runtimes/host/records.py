"""What the step engine records: one ``StepRecord`` per attempt-group, and the rollback summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["RollbackSummary", "StepRecord", "head"]

HEAD_BYTES = 4096


def head(data: bytes, limit: int = HEAD_BYTES) -> str:
    """The first ``limit`` bytes as text, marked when cut."""
    text = data[:limit].decode("utf-8", errors="replace")
    return text + ("…[truncated]" if len(data) > limit else "")


@dataclass
class StepRecord:
    """One step (or rollback handler) as it ran: kept for failed steps too."""

    name: str
    uses: str
    started_at: str
    finished_at: str = ""
    success: bool = False
    skipped: bool = False
    exit_code: int | None = None
    http_status: int | None = None
    attempts: int = 0
    duration_ms: float = 0.0
    message: str = ""
    stdout_head: str = ""
    stderr_head: str = ""
    timed_out: bool = False
    usage: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe mapping."""
        return dict(self.__dict__)


@dataclass
class RollbackSummary:
    """The compensation state after a failure: which handlers ran and how it ended."""

    total_executed_steps: int = 0
    planned: int = 0
    attempted: int = 0
    succeeded: int = 0
    failed: int = 0
    without_handler: int = 0
    failed_step_names: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        """``not_needed``, ``fully_compensated``, ``partially_compensated`` or ``not_compensated``."""
        if self.total_executed_steps == 0:
            return "not_needed"
        if self.planned and self.succeeded == self.planned and not self.without_handler:
            return "fully_compensated"
        return "partially_compensated" if self.succeeded else "not_compensated"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe mapping, with ``state``."""
        return {**self.__dict__, "state": self.state}
