"""Retention settings: ``SPELL_RETENTION_*`` (how long cast data, artifacts and audit records are kept).

The defaults follow storage limitation (GDPR art. 5(1)(e)): a cast's input is needed only while the
caster may still dispute or retry it, its output and logs a little longer for support; the audit log
serves security review for a year and more; records that back money movements are kept the seven years
bookkeeping law asks (e.g. HGB §257, AO §147).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from spell.config.group import layered, read, setting

__all__ = ["RetentionSettings"]


@dataclass(frozen=True)
class RetentionSettings:
    """How long each kind of data is kept after a cast ends, and how often the server prunes."""

    env_prefix: ClassVar[str] = "SPELL_RETENTION_"

    input_days: int = setting(
        30, "days after a cast ends before its input is reduced to its SHA-256 digest", ge=1
    )
    output_days: int = setting(90, "days after a cast ends before its output is deleted", ge=1)
    log_days: int = setting(90, "days after a cast ends before its log and progress events are deleted", ge=1)
    audit_days: int = setting(
        400, "days an audit record is kept before it is folded into a signed checkpoint", ge=1
    )
    ledger_audit_days: int = setting(
        2_557, "days audit records of money movements (charges, credits, payments) are kept: 7 years", ge=1
    )
    interval_s: int = setting(
        86_400, "seconds between the server's retention runs; 0 leaves them to `spell retention run`", ge=0
    )
    batch_size: int = setting(
        500, "rows changed per transaction: a large table is pruned in many short transactions", ge=1
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RetentionSettings:
        """Read ``SPELL_RETENTION_*``."""
        return read(cls, layered(environ), cls())
