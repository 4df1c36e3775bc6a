"""``spell log EXEC_ID``: show the execution log of a local cast."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="log")
@click.argument("execution_id", required=False)
@json_option
def command(execution_id: str | None, as_json: bool) -> None:
    """Show the execution log EXEC_ID (printed by `spell cast`), or the newest one.

    The log holds the redacted input, the signature status, every step with exit code, timings
    and the head of stdout/stderr, the outputs (and a wasm spell's output document), checks,
    rollback state, usage and the artifacts a cast wrote (name, size, sha256, saved path). For a
    wasm spell it also holds what the spell wrote to stderr: the last 64 KiB, led by a
    "[… N bytes cut …]" line when there was more. Without EXEC_ID, the newest log is shown;
    EXEC_ID.json (the log's file name) is accepted too.

    \b
    Examples:
      spell log                                   # the newest cast
      spell log exec_01JD3Q8Z4W0000000000000000
      spell log exec_01JD3Q8Z4W0000000000000000 --json | jq .steps
    """
    from spell.config.home import SpellHome
    from spell.local.logs import ExecutionLogs

    logs = ExecutionLogs(SpellHome.from_env().logs)
    # spell-runtime takes the log's file name too (EXEC_ID.json)
    wanted = execution_id.removesuffix(".json") if execution_id is not None else logs.latest()
    record = logs.read(wanted)
    emit(record, as_json=as_json, human=_human(record))


def _human(record: dict[str, object]) -> str:
    lines = [
        f"execution: {record.get('execution_id')}",
        f"spell: {record.get('id')}@{record.get('version')}",
        f"outcome: {record.get('outcome')}",
        f"started: {record.get('started_at')}  finished: {record.get('finished_at')}",
    ]
    signature = record.get("signature")
    if isinstance(signature, dict):
        lines.append(f"signature: {signature.get('status')}")
    steps = record.get("steps")
    for step in steps if isinstance(steps, list) else []:
        mark = "ok" if step.get("success") else "FAILED"
        lines.append(
            f"  step {step.get('name')}: {mark} exit={step.get('exit_code')} "
            f"{step.get('duration_ms')} ms attempts={step.get('attempts')} {step.get('message')}"
        )
    usage = record.get("usage")
    if isinstance(usage, dict) and usage:
        lines.append("usage: " + ", ".join(f"{k}={v}" for k, v in usage.items() if v))
    artifacts = record.get("artifacts")
    for artifact in artifacts if isinstance(artifacts, list) else []:
        lines.append(
            f"  artifact {artifact.get('name')}: {artifact.get('size')} bytes "
            f"sha256={artifact.get('sha256')} at {artifact.get('path')}"
        )
    rollback = record.get("rollback")
    if isinstance(rollback, dict) and rollback.get("state") != "not_needed":
        lines.append(f"rollback: {rollback.get('state')}")
    if record.get("error"):
        lines.append(f"error: {record.get('error')}")
    stderr = record.get("stderr")
    if isinstance(stderr, str) and stderr:
        lines += ["--- stderr", stderr.rstrip("\n")]
    return "\n".join(lines)
