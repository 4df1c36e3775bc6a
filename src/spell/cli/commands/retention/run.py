"""``spell retention run``: apply the retention rules now."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click

from spell.cli.output import emit, json_option

__all__ = ["command", "describe_report"]


@click.command(name="run")
@click.option("--dry-run", is_flag=True, help="Count what would be pruned; change nothing.")
@json_option
def command(dry_run: bool, as_json: bool) -> None:
    """Apply the retention rules to the platform database now, in short transactions.

    Inputs of casts that ended more than SPELL_RETENTION_INPUT_DAYS ago become their SHA-256 digest;
    outputs and log events go after SPELL_RETENTION_OUTPUT_DAYS / SPELL_RETENTION_LOG_DAYS; expired
    artifacts' blobs are deleted; audit records older than SPELL_RETENTION_AUDIT_DAYS are folded into
    a signed checkpoint, so `spell audit verify` still proves the rest unedited. Money records stay
    SPELL_RETENTION_LEDGER_AUDIT_DAYS; held users and tenants stay whole. Safe to rerun, and to run
    while servers run it too.

    \b
    Example:
      spell retention run --dry-run --json
    """
    from spell.cli.commands.admin._platform import open_platform
    from spell.cli.console import activity

    title = "counting what retention would prune" if dry_run else "applying the retention rules"
    with activity(title, quiet=as_json) as report, open_platform() as platform:
        result = platform.retention.run(platform.db, dry_run=dry_run, progress=_every_second(report))
    data = result.model_dump(mode="json")
    emit(data, as_json=as_json, human=describe_report(data))


def _every_second(report: Callable[[str], None]) -> Callable[[str, int], None]:
    """A progress line when a rule starts and at most once a second while it goes on."""
    last: dict[str, float] = {}

    def told(rule: str, done: int) -> None:
        now = time.monotonic()
        if rule not in last or now - last[rule] >= 1.0:
            last[rule] = now
            report(f"{rule}: {done}")

    return told


def describe_report(report: dict[str, Any]) -> str:
    """One line per rule."""
    verb = "would" if report["dry_run"] else "did"
    return "\n".join(
        [
            f"retention ({verb}): {report['inputs_reduced']} inputs reduced to their digest,"
            f" {report['outputs_pruned']} outputs and {report['logs_pruned']} casts' logs pruned",
            f"  artifacts: {report['artifacts_deleted']} expired deleted ({report['blobs_deleted']} blobs)",
            f"  audit: {report['audit_folded']} records folded"
            + (
                f", checkpoint at record {report['audit_checkpoint_seq']}"
                if report["audit_checkpoint_seq"]
                else ""
            ),
        ]
    )
