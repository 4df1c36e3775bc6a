"""The local cast use case: preflight → run → redact → execution log → result.

Every cast, refused or not, leaves one execution log. Whatever is logged, returned or raised has
gone through the cast's ``Redactor`` first.
"""

from __future__ import annotations

import dataclasses
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spell.config.wasm import WasmSettings
from spell.errors import RuntimeFailure, SpellError, Timeout
from spell.kit.time import to_rfc3339, utcnow
from spell.local.dispatch import RuntimeChoice, runtime_for
from spell.local.inputs import assemble_input
from spell.local.logs import ExecutionLogs
from spell.local.preflight import CastOptions, CastPlan, LocalContext, preflight
from spell.local.redaction import Redactor
from spell.local.summary import wasm_summary
from spell.runtimes.base import CastRequest, CastResult, Outcome, ProgressSink
from spell.runtimes.limits import limits_for

__all__ = ["LocalCast", "Retention", "cast_local"]


@dataclass(frozen=True)
class Retention:
    """How long execution logs are kept (``SPELL_API_LOG_RETENTION_DAYS`` / ``_MAX_FILES``)."""

    max_age_days: int = 14
    max_files: int = 500


@dataclass
class LocalCast:
    """A finished (or dry-run) local cast, already redacted."""

    execution_id: str
    log_path: Path
    outcome: Outcome
    summary: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    dry_run: bool = False
    record: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document of ``spell cast``."""
        return {
            "ok": self.outcome.is_success,
            "execution_id": self.execution_id,
            "log_path": str(self.log_path),
            "outcome": self.outcome.value,
            "dry_run": self.dry_run,
            "summary": self.summary,
            "outputs": self.outputs,
            # The same keys a server cast shows: the runtime's output document, usage, artifacts.
            "output": self.record.get("output", self.outputs),
            "usage": self.record.get("usage", {}),
            "artifacts": self.record.get("artifacts", []),
            "stderr": self.record.get("stderr", ""),  # a wasm spell's, capped; empty for steps
            "message": self.message,
        }

    def raise_for_outcome(self) -> None:
        """Return when the cast succeeded; raise ``Timeout`` or ``RuntimeFailure`` otherwise."""
        if self.outcome.is_success:
            return
        details = {
            "execution_id": self.execution_id,
            "outcome": self.outcome.value,
            "log": str(self.log_path),
        }
        hint = f"see `spell log {self.execution_id}`"
        if self.outcome is Outcome.TIMEOUT:
            raise Timeout(self.message or "cast timed out", details=details, hint=hint)
        raise RuntimeFailure(self.message or f"cast ended {self.outcome.value}", details=details, hint=hint)


def cast_local(
    options: CastOptions,
    ctx: LocalContext,
    *,
    choice: RuntimeChoice,
    retention: Retention,
    cancel: threading.Event | None = None,
    progress: ProgressSink | None = None,
    stage: Callable[[str], None] | None = None,
) -> LocalCast:
    """Cast an installed spell on this machine; refusals raise (redacted) after being logged.

    Setting ``cancel`` stops the running step or guest (``CANCELED``); ``progress`` gets the steps'
    progress, redacted.
    """
    logs = ExecutionLogs(ctx.home.logs)
    execution_id = logs.new_id()
    started = utcnow()
    record: dict[str, Any] = {
        "execution_id": execution_id,
        "id": options.spell_id,
        "version": options.version or "latest",
        "started_at": to_rfc3339(started),
        "dry_run": options.dry_run,
    }
    redactor = Redactor.for_cast(ctx.environ, token_names=(), input_value={})
    wasm: dict[str, Any] | None = None
    try:
        plan = preflight(options, ctx, stage=stage)
        wasm = wasm_summary(plan.installed.manifest, choice.wasm_settings)
        if wasm is not None:  # the limits that will apply, shown before the cast runs
            plan.summary["runtime"]["wasm"] = wasm
        redactor = Redactor.for_cast(
            ctx.environ, token_names=plan.connector_env, input_value=plan.input_value
        )
        _plan_into(record, plan)
        if options.dry_run:
            result = CastResult(Outcome.SUCCEEDED, output={}, message="dry run: nothing was executed")
        else:
            if stage is not None:
                stage("run")
            work_dir = _work_dir(ctx, plan, execution_id)
            result = _run(plan, choice, redactor, work_dir, cancel=cancel, progress=progress)
    except SpellError as exc:
        refused = "input" not in record  # the preflight said no; otherwise the runtime could not run
        if refused:  # find the input's secrets without the plan
            redactor = _early_redactor(options, ctx)
        safe = _redacted_error(exc, redactor)
        outcome = "REFUSED" if refused else Outcome.INTERNAL.value
        record.update(success=False, outcome=outcome, error=safe.to_dict(), finished_at=to_rfc3339(utcnow()))
        logs.write(redactor.value(record))
        _prune(logs, retention, ctx)
        raise safe from None
    record.update(
        success=result.outcome.is_success,
        outcome=result.outcome.value,
        error=result.message if not result.outcome.is_success else None,
        steps=result.details.get("steps", []),
        outputs=result.output if isinstance(result.output, dict) else {"output": result.output},
        checks=result.details.get("checks", []),
        rollback=result.details.get("rollback"),
        usage=result.usage.to_dict(),
        artifacts=_artifacts(result, ctx, execution_id),
        finished_at=to_rfc3339(utcnow()),
    )
    if wasm is not None:  # a document output: `get-output output` gives it back exactly
        record["output"] = result.output
        record["stderr"] = result.log  # the guest's stderr, capped; `spell log` shows it
    elif plan.installed.manifest.runtime.execution == "builtin":
        record["output"] = result.output
    safe_record = redactor.value(record)
    path = logs.write(safe_record)
    _prune(logs, retention, ctx)
    return LocalCast(
        execution_id=execution_id,
        log_path=path,
        outcome=result.outcome,
        summary=safe_record.get("summary", {}),
        outputs=safe_record["outputs"],
        message=safe_record["error"] or "",
        dry_run=options.dry_run,
        record=safe_record,
    )


def _plan_into(record: dict[str, Any], plan: CastPlan) -> None:
    record.update(
        id=plan.installed.id,
        version=plan.installed.version,
        input=plan.input_value,
        signature=plan.signature.to_dict(),
        summary=plan.summary,
        entitlement=plan.entitlement,
    )


def _run(
    plan: CastPlan,
    choice: RuntimeChoice,
    redactor: Redactor,
    work_dir: Path | None,
    *,
    cancel: threading.Event | None,
    progress: ProgressSink | None,
) -> CastResult:
    manifest = plan.installed.manifest
    choice = dataclasses.replace(choice, engine=dataclasses.replace(choice.engine, egress=plan.egress))
    request = CastRequest(
        bundle_dir=plan.installed.path,
        manifest=manifest,
        input=plan.input_value,
        limits=limits_for(manifest, choice.wasm_settings or WasmSettings()),
        env=dict(plan.connector_env),
        work_dir=work_dir,
        cancel=cancel,
        progress=None if progress is None else _redacting(progress, redactor),
    )
    return runtime_for(manifest, choice).run(request)


def _redacting(progress: ProgressSink, redactor: Redactor) -> ProgressSink:
    """Progress lines (e.g. an http step's URL) are output too: redact them."""

    def sink(event: str, step: str, detail: str) -> None:
        progress(event, step, redactor.text(detail))

    return sink


def _artifacts_root(ctx: LocalContext) -> Path:
    return ctx.home.root / "artifacts"


def _work_dir(ctx: LocalContext, plan: CastPlan, execution_id: str) -> Path | None:
    """Where a WASM spell's ``fs_write`` folders live: kept with the log, pruned with it."""
    runtime = plan.installed.manifest.runtime
    if runtime.execution != "wasm" or not runtime.policy.fs_write:
        return None
    return _artifacts_root(ctx) / execution_id


def _artifacts(result: CastResult, ctx: LocalContext, execution_id: str) -> list[dict[str, Any]]:
    """The artifacts as the log lists them; a cast that produced none leaves no folder behind."""
    if not result.artifacts:
        shutil.rmtree(_artifacts_root(ctx) / execution_id, ignore_errors=True)
    return [
        {"name": a.name, "size": a.size, "sha256": a.sha256, "media_type": a.media_type, "path": str(a.path)}
        for a in result.artifacts
    ]


def _redacted_error(exc: SpellError, redactor: Redactor) -> SpellError:
    """The same error class with message, details and hint scrubbed."""
    safe = type(exc)(
        redactor.text(exc.message),
        details=redactor.value(exc.details),
        hint=redactor.text(exc.hint) if exc.hint else None,
        retry_after=exc.retry_after,
    )
    return safe


def _early_redactor(options: CastOptions, ctx: LocalContext) -> Redactor:
    try:
        value: Any = assemble_input(options.params, options.input_file, max_bytes=ctx.input_max_bytes)
    except SpellError:
        value = {}  # the input itself was refused; only its parse error is reported
    return Redactor.for_cast(ctx.environ, token_names=(), input_value=value)


def _prune(logs: ExecutionLogs, retention: Retention, ctx: LocalContext) -> None:
    removed = logs.prune(max_age_days=retention.max_age_days, max_files=retention.max_files, now=utcnow())
    for execution_id in removed:  # artifacts go with their log
        shutil.rmtree(_artifacts_root(ctx) / execution_id, ignore_errors=True)
