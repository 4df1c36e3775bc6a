"""The step engine: DAG waves, ``when``, ``retry``, per-step and cast deadlines, rollback, checks.

One ``StepEngine`` runs one cast in a bundle directory that is already a private copy. It never
raises for the spell's own faults: they end up in ``EngineResult`` (outcome, message, records).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spell.bundle.manifest import SpellManifest, Step, When
from spell.config.runtime import RuntimeSettings
from spell.errors import SpellError
from spell.kit.json_depth import text_nests_beyond
from spell.kit.jsonpath import MISSING, get_path
from spell.kit.time import to_rfc3339, utcnow
from spell.runtimes.base import MAX_OUTPUT_DEPTH, LogSink, Outcome, ProgressSink, Usage
from spell.runtimes.egress import EgressPolicy
from spell.runtimes.host.dag import run_wave, waves
from spell.runtimes.host.outputs import resolve_output
from spell.runtimes.host.process import ProcessLimits, ProcessResult
from spell.runtimes.host.records import RollbackSummary, StepRecord, head
from spell.runtimes.host.sandbox import Sandbox
from spell.runtimes.host.shell import run_shell_step, step_environment

if TYPE_CHECKING:  # checks and http steps load their modules when a spell has them
    from spell.runtimes.host.checks import CheckResult

__all__ = ["EngineResult", "EngineSettings", "ProgressHook", "StepEngine"]

ProgressHook = ProgressSink  # (event, step name, detail), the contract of ``CastRequest.progress``


@dataclass(frozen=True)
class EngineSettings:
    """Time and resource limits of the engine (from ``RuntimeSettings``, passed in by the edge)."""

    step_timeout_ms: int = 60_000
    execution_timeout_ms: int = 0  # 0 = only the per-step limit applies
    limits: ProcessLimits = field(default_factory=ProcessLimits)
    max_http_bytes: int = 4 * 1024 * 1024
    # What the operator opens beyond https to the manifest's public hosts (nothing by default).
    egress: EgressPolicy = field(default_factory=EgressPolicy)

    @classmethod
    def from_runtime_settings(cls, settings: RuntimeSettings) -> EngineSettings:
        """Map the ``SPELL_RUNTIME_*`` settings onto the engine's timeouts and process limits."""
        return cls(
            step_timeout_ms=settings.step_timeout_ms,
            execution_timeout_ms=settings.execution_timeout_ms,
            limits=ProcessLimits(
                cpu_seconds=settings.cpu_seconds,
                address_space_mb=settings.address_space_mb,
                open_files=settings.open_files,
                processes=settings.processes,
            ),
        )


@dataclass
class EngineResult:
    """Everything a cast of host steps produced."""

    outcome: Outcome
    message: str = ""
    steps: list[StepRecord] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    checks: list[CheckResult] = field(default_factory=list)
    rollback: RollbackSummary = field(default_factory=RollbackSummary)
    usage: Usage = field(default_factory=Usage)
    violations: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe mapping (as the docker runner prints it)."""
        return {
            "success": self.outcome.is_success,
            "outcome": self.outcome.value,
            "error": self.message or None,
            "steps": [s.to_dict() for s in self.steps],
            "outputs": self.outputs,
            "checks": [c.to_dict() for c in self.checks],
            "rollback": self.rollback.to_dict(),
            "usage": self.usage.to_dict(),
        }


class _Stop(Exception):
    """A step failed for good; carries the outcome the cast ends with."""

    def __init__(self, outcome: Outcome, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message


class StepEngine:
    """Run the steps of ``manifest`` found in ``work_dir`` against one input."""

    def __init__(
        self,
        manifest: SpellManifest,
        work_dir: Path,
        *,
        input_path: Path,
        input_value: Any,
        secrets_env: Mapping[str, str],
        settings: EngineSettings,
        cancel: threading.Event | None = None,
        progress: ProgressHook | None = None,
        log: LogSink | None = None,
        sandbox: Sandbox | None = None,
        sandbox_root: Path | None = None,
        definitions_dir: Path | None = None,
    ) -> None:
        self.manifest = manifest
        # http step definitions are read from here (default ``work_dir``): the runtime passes the
        # signed bundle, which no step can write, rather than the workspace, which every step can.
        self.definitions_dir = definitions_dir or work_dir
        self.sandbox = sandbox
        self.sandbox_root = sandbox_root
        self.work_dir = work_dir
        self.input_path = input_path
        self.input_value = input_value
        self.settings = settings
        self.cancel = cancel if cancel is not None else threading.Event()
        self.progress = progress or (lambda _e, _s, _d: None)
        self.log = log
        self.env = step_environment(work_dir=work_dir, input_path=input_path, extra=secrets_env)
        self._lock = threading.Lock()
        self._records: list[StepRecord] = []
        self._outputs: dict[str, Any] = {}
        self._statuses: dict[str, int] = {}
        self._executed: list[str] = []
        self._usage = Usage()
        self._violations: list[dict[str, Any]] = []
        self._deadline: float | None = None

    def run(self) -> EngineResult:
        """Run every wave, then the checks; roll back executed steps when anything failed."""
        started = time.perf_counter()
        if self.settings.execution_timeout_ms:
            self._deadline = started + self.settings.execution_timeout_ms / 1000.0
        outcome, message = Outcome.SUCCEEDED, ""
        checks: list[CheckResult] = []
        try:
            for wave in waves(self.manifest.steps):
                outcomes = run_wave(
                    wave, self._run_step, max_parallel=self.manifest.runtime.max_parallel_steps
                )
                failures = [stop for stop in outcomes if stop is not None]
                if failures:
                    raise failures[0]
            if self.manifest.checks:
                from spell.runtimes.host.checks import evaluate_checks

                checks = evaluate_checks(
                    self.manifest.checks,
                    work_dir=self.work_dir,
                    outputs=self._outputs,
                    http_statuses=self._statuses,
                    steps_succeeded=True,
                    egress=self.settings.egress,
                    net_allow=self.manifest.runtime.policy.net_allow,
                )
            failed = [c for c in checks if not c.success]
            if failed:
                raise _Stop(Outcome.FAILED, f"check failed: {failed[0].message}")
        except _Stop as stop:
            outcome, message = stop.outcome, stop.message
        except SpellError as exc:  # a malformed step list or definition is the spell's fault
            outcome, message = Outcome.FAILED, exc.message
        rollback = RollbackSummary() if outcome.is_success else self._rollback()
        self._usage.wall_ms = round((time.perf_counter() - started) * 1000.0, 3)
        return EngineResult(
            outcome, message, self._records, self._outputs, checks, rollback, self._usage, self._violations
        )

    # -- one step -------------------------------------------------------------------------------

    def _run_step(self, step: Step) -> _Stop | None:
        record = StepRecord(name=step.name, uses=step.uses, started_at=to_rfc3339(utcnow()))
        with self._lock:
            self._records.append(record)
        if step.when is not None and not self._condition_holds(step.when):
            record.skipped, record.success, record.message = True, True, "skipped by condition"
            record.finished_at = record.started_at
            self.progress("skipped", step.name, "condition not met")
            return None
        attempts = step.retry.max_attempts if step.retry else 1
        backoff_s = (step.retry.backoff_ms if step.retry else 0) / 1000.0
        stop: _Stop | None = None
        for attempt in range(1, attempts + 1):
            record.attempts = attempt
            self.progress("started", step.name, f"attempt {attempt}/{attempts}")
            stop = self._attempt(step, record)
            if stop is None or stop.outcome is not Outcome.FAILED:
                break  # success, or a timeout / cancellation that a retry must not hide
            if attempt < attempts and self.cancel.wait(backoff_s):
                stop = _Stop(Outcome.CANCELED, "cast canceled")
                break
        record.finished_at = to_rfc3339(utcnow())
        record.success = stop is None
        self.progress("succeeded" if stop is None else "failed", step.name, record.message)
        if stop is None:
            with self._lock:
                self._executed.append(step.name)
        return stop

    def _attempt(self, step: Step, record: StepRecord, *, keep_output: bool = True) -> _Stop | None:
        if self.cancel.is_set():
            record.message = "cast canceled before the step started"
            return _Stop(Outcome.CANCELED, "cast canceled")
        timeout_s, cast_bound = self._step_timeout(step)
        if timeout_s <= 0:
            record.message = "cast timed out before the step started"
            return _Stop(Outcome.TIMEOUT, f"execution timeout reached before step {step.name!r}")
        if step.uses == "http":
            return self._attempt_http(step, record, timeout_s)
        result = run_shell_step(
            self.work_dir / step.run,
            work_dir=self.work_dir,
            input_path=self.input_path,
            env=self.env,
            timeout_s=timeout_s,
            limits=self.settings.limits,
            cancel=self.cancel,
            on_output=self._output_of(step.name),
            sandbox=self.sandbox,
            root=self.sandbox_root,
        )
        self._record_process(record, result)
        if result.canceled:
            return _Stop(Outcome.CANCELED, "cast canceled")
        if result.timed_out:
            which = "execution" if cast_bound else "step"
            record.message = f"{which} timeout after {int(timeout_s * 1000)} ms"
            return _Stop(Outcome.TIMEOUT, f"step {step.name!r}: {record.message}")
        if not result.ok:
            record.message = result.start_error or f"exit code {result.exit_code}"
            return _Stop(Outcome.FAILED, f"step {step.name!r} failed: {record.message}")
        record.message = "exit code 0"
        if not keep_output:
            return None
        stdout = result.stdout.decode("utf-8", errors="replace")
        with self._lock:
            self._outputs[f"step.{step.name}.stdout"] = stdout
            parsed = _json_or_missing(stdout)
            if parsed is not MISSING:
                self._outputs[f"step.{step.name}.json"] = parsed
        return None

    def _output_of(self, step: str) -> Callable[[str, str], None] | None:
        log = self.log
        if log is None:
            return None
        return lambda stream, text: log(step, stream, text)

    def _attempt_http(self, step: Step, record: StepRecord, timeout_s: float) -> _Stop | None:
        from spell.runtimes.host.http_step import load_request, send_request

        try:
            request = load_request(self.definitions_dir / step.run, self.input_value, self.env)
        except SpellError as exc:
            record.message = exc.message
            return _Stop(Outcome.FAILED, f"step {step.name!r} failed: {exc.message}")
        result = send_request(
            request,
            policy=self.settings.egress,
            allow=self.manifest.runtime.policy.net_allow,
            timeout_s=timeout_s,
            max_bytes=self.settings.max_http_bytes,
        )
        record.http_status = result.status or None
        record.duration_ms = result.wall_ms
        with self._lock:
            self._usage.network_requests += result.requests
            self._usage.network_bytes += result.raw_bytes
            if result.status:
                self._statuses[step.name] = result.status
        record.message = result.error or f"http {request.method} {request.url} -> {result.status}"
        if result.denied is not None:
            denied = result.denied
            with self._lock:
                self._violations.append(
                    {
                        "code": "EGRESS_DENIED",
                        "reason": denied.reason,
                        "message": denied.message,
                        "url": denied.url,
                    }
                )
            return _Stop(Outcome.POLICY_VIOLATION, f"step {step.name!r}: {record.message}")
        if not result.ok:
            return _Stop(Outcome.FAILED, f"step {step.name!r} failed: {record.message}")
        with self._lock:
            self._outputs[f"step.{step.name}.json"] = result.body
        return None

    def _record_process(self, record: StepRecord, result: ProcessResult) -> None:
        record.exit_code = result.exit_code
        record.timed_out = result.timed_out
        record.duration_ms = result.wall_ms
        record.stdout_head = head(result.stdout)
        record.stderr_head = head(result.stderr)
        record.usage = {
            "wall_ms": result.wall_ms,
            "cpu_ms": result.cpu_ms,
            "peak_rss_bytes": result.peak_rss_bytes,
        }
        with self._lock:
            self._usage.cpu_ms = round(self._usage.cpu_ms + result.cpu_ms, 3)
            self._usage.peak_memory_bytes = max(self._usage.peak_memory_bytes, result.peak_rss_bytes)
            self._usage.stdout_bytes += len(result.stdout)
            self._usage.stderr_bytes += len(result.stderr)

    def _step_timeout(self, step: Step) -> tuple[float, bool]:
        step_s = (step.timeout_ms or self.settings.step_timeout_ms) / 1000.0
        if self._deadline is None:
            return step_s, False
        remaining = self._deadline - time.perf_counter()
        return (remaining, True) if remaining < step_s else (step_s, False)

    def _condition_holds(self, when: When) -> bool:
        if when.input_path is not None:
            actual = get_path(self.input_value, when.input_path)
        else:
            try:
                with self._lock:
                    actual = resolve_output(self._outputs, when.output_path or "")
            except SpellError:
                return False  # the step it names did not run or produced no such value
        if when.has_equals:
            return actual is not MISSING and actual == when.equals
        return actual is MISSING or actual != when.not_equals

    # -- compensation ---------------------------------------------------------------------------

    def _rollback(self) -> RollbackSummary:
        summary = RollbackSummary(total_executed_steps=len(self._executed))
        by_name = {s.name: s for s in self.manifest.steps}
        for name in reversed(self._executed):
            handler = by_name[name].rollback
            if handler is None:
                summary.without_handler += 1
                continue
            summary.planned += 1
            if self.cancel.is_set():  # canceled means stop now: compensation is left to the operator
                continue
            summary.attempted += 1
            fake = Step(uses="shell", name=f"rollback-{name}", run=handler)
            record = StepRecord(name=f"rollback.{name}", uses="shell", started_at=to_rfc3339(utcnow()))
            self._records.append(record)
            record.attempts = 1
            stop = self._attempt(fake, record, keep_output=False)
            record.finished_at = to_rfc3339(utcnow())
            record.success = stop is None
            self.progress("rollback", name, "compensated" if stop is None else "rollback failed")
            if stop is None:
                summary.succeeded += 1
            else:
                summary.failed += 1
                summary.failed_step_names.append(record.name)
        return summary


def _json_or_missing(text: str) -> Any:
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return MISSING
    if text_nests_beyond(stripped.encode("utf-8", errors="surrogatepass"), MAX_OUTPUT_DEPTH):
        return MISSING  # too deep to hand on as JSON: the step's text output stays
    try:
        return json.loads(stripped)
    except (json.JSONDecodeError, RecursionError):  # deep text that is not JSON either
        return MISSING
