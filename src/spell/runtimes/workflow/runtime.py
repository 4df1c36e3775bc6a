"""``WorkflowRuntime``: a cast that runs a GitHub Actions workflow in the caster's repository.

One cast: mint a token for the repository the input names (``AppTokens``), check the workflow file
exists, dispatch it with the input's workflow inputs plus a ``spell_run`` marker, find the run whose
title carries the marker, follow it with growing pauses (its status changes are progress events) until
it completes, then download its artifacts (zips, within a size budget) as the cast's artifacts. The
cast's time limit covers all of it; a cast canceled or out of time cancels the run on GitHub too.

The runtime owns no database and no settings: the token provider and the client factory are passed in.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from spell.bundle.manifest import SpellManifest, WorkflowSpec
from spell.errors import FetchFailed, InvalidInput, LimitExceeded, SpellError
from spell.kit.clock import Clock, SystemClock
from spell.kit.ids import new_id
from spell.runtimes.base import Artifact, CastRequest, CastResult, Outcome, Usage
from spell.runtimes.workflow.app import TokenProvider
from spell.runtimes.workflow.github import Repo, Run, WorkflowApi
from spell.runtimes.workflow.metered import Metered

__all__ = ["RUN_INPUT", "STEP", "Backoff", "ClientFactory", "WorkflowRuntime", "workflow_inputs"]

#: The workflow input that carries the cast's marker; the workflow puts it in its ``run-name``.
RUN_INPUT = "spell_run"
#: The step name of a workflow cast's progress events.
STEP = "workflow"
#: ``token -> WorkflowApi`` (the server's: ``githubkit_client`` at its API URL).
ClientFactory = Callable[[str], WorkflowApi]

_MAX_INPUTS = 25  # GitHub's limit, the marker included
_CLOCK_SKEW = timedelta(minutes=2)  # runs are looked up from this long before the dispatch
_CONCLUSIONS = {
    "success": Outcome.SUCCEEDED,
    "cancelled": Outcome.CANCELED,
    "timed_out": Outcome.TIMEOUT,
}
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_RETRY_AFTER_S = 5  # a cast refused because GitHub did not answer at admission


@dataclass(frozen=True)
class Backoff:
    """Pauses between polls: ``first_s``, then half as long again each time, at most ``max_s``."""

    first_s: float = 2.0
    max_s: float = 15.0
    factor: float = 1.5

    def pauses(self) -> Iterator[float]:
        """The pauses, one per poll, forever."""
        pause = self.first_s
        while True:
            yield pause
            pause = min(self.max_s, max(pause * self.factor, pause))


class _Stopped(Exception):
    """The cast ends before the run did: canceled, or out of time."""

    def __init__(self, outcome: Outcome, message: str) -> None:
        super().__init__(message)
        self.outcome, self.message = outcome, message


def workflow_inputs(spec: WorkflowSpec, cast_input: Any) -> dict[str, str]:
    """The workflow inputs: the cast input's ``spec.inputs_from`` object, each value as GitHub takes it
    (strings as they are, numbers and booleans as JSON text); ``VALIDATION_ERROR`` for anything else."""
    if spec.inputs_from is None or not isinstance(cast_input, dict):
        return {}
    raw = cast_input.get(spec.inputs_from, {})
    if not isinstance(raw, dict):
        raise InvalidInput(f"the cast input's {spec.inputs_from} must be an object of workflow inputs")
    if len(raw) >= _MAX_INPUTS or RUN_INPUT in raw:
        raise InvalidInput(
            f"at most {_MAX_INPUTS - 1} workflow inputs, none named {RUN_INPUT}",
            details={"field": spec.inputs_from},
        )
    inputs: dict[str, str] = {}
    for name, value in raw.items():
        if isinstance(value, bool):
            inputs[name] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            inputs[name] = str(value)
        else:
            raise InvalidInput(
                f"workflow input {name!r} must be a string, number or boolean",
                details={"field": f"{spec.inputs_from}.{name}"},
            )
    return inputs


class WorkflowRuntime:
    """Runs ``execution: workflow`` spells on GitHub Actions; never raises for the run's faults."""

    def __init__(
        self,
        tokens: TokenProvider,
        clients: ClientFactory,
        *,
        backoff: Backoff | None = None,
        max_artifact_bytes: int = 100 * 1024 * 1024,
        clock: Clock | None = None,
    ) -> None:
        self.tokens, self.clients = tokens, clients
        self.backoff = backoff or Backoff()
        self.max_artifact_bytes = max_artifact_bytes
        self.clock = clock or SystemClock()

    def check(self, tenant_id: str, manifest: SpellManifest, cast_input: Any) -> tuple[WorkflowSpec, Repo]:
        """Refuse what a run would refuse without asking GitHub anything: a malformed ``repo`` or
        workflow inputs (``VALIDATION_ERROR``), a repository the caster's tenant is not bound to
        (``FORBIDDEN_REPO``). The workflow and the repository otherwise."""
        spec = manifest.runtime.workflow
        if spec is None:
            raise InvalidInput("not a workflow spell: runtime.workflow is missing")
        repo = Repo.parse(cast_input.get("repo") if isinstance(cast_input, dict) else None)
        workflow_inputs(spec, cast_input)
        self.tokens.check(tenant_id, repo)
        return spec, repo

    def admit(self, tenant_id: str, manifest: SpellManifest, cast_input: Any) -> None:
        """Refuse, before a cast is created, what its run would refuse: ``check``, then GitHub asked
        whether the App is installed on the repository for the tenant (``FORBIDDEN_REPO``) and whether
        the workflow file is there (``WORKFLOW_NOT_FOUND``). GitHub failing to answer is
        ``FETCH_FAILED`` (502), to try again: nothing was created.

        Only the installation token is reused from one cast to the next; whether the workflow exists is
        asked every time."""
        spec, repo = self.check(tenant_id, manifest, cast_input)
        try:
            self.clients(self.tokens.token_for(tenant_id, repo)).check_workflow(repo, spec.file)
        except FetchFailed as exc:
            raise FetchFailed(
                exc.message,
                details=exc.details,
                hint="GitHub did not answer; nothing was created or charged: try again shortly",
                retry_after=_RETRY_AFTER_S,
            ) from None

    def run(self, request: CastRequest) -> CastResult:
        """Dispatch the workflow, follow its run to the end and collect its artifacts."""
        started = self.clock.monotonic()
        usage = Usage()
        try:
            result = self._run(request, usage, started + request.limits.timeout_ms / 1000)
        except LimitExceeded as exc:
            result = CastResult(
                Outcome.OUTPUT_LIMIT, message=exc.message, details={"code": exc.code, **exc.details}
            )
        except (FetchFailed, OSError) as exc:  # GitHub or the disk let the platform down: free of charge
            details = (
                {"code": exc.code, **exc.details} if isinstance(exc, SpellError) else {"code": "INTERNAL"}
            )
            result = CastResult(Outcome.INTERNAL, message=str(exc), details=details)
        except SpellError as exc:  # the caster's repository, workflow or input: the cast fails
            result = CastResult(
                Outcome.FAILED, message=exc.message, details={"code": exc.code, **exc.details}
            )
        usage.wall_ms = (self.clock.monotonic() - started) * 1000
        result.usage = usage
        return result

    def _run(self, request: CastRequest, usage: Usage, deadline: float) -> CastResult:
        cancel = request.cancel or threading.Event()
        if cancel.is_set():
            return CastResult(Outcome.CANCELED, message="canceled before it started")
        spec = request.manifest.runtime.workflow
        if spec is None:
            raise InvalidInput("not a workflow spell: runtime.workflow is missing")
        repo = Repo.parse(request.input.get("repo") if isinstance(request.input, dict) else None)
        inputs = workflow_inputs(spec, request.input)
        api = Metered(self.clients(self.tokens.token_for(request.tenant_id, repo)), usage)
        # Asked at admission too; asked again, as the workflow may have gone while the cast was queued.
        api.check_workflow(repo, spec.file)
        marker = new_id("run")
        since = self.clock.now() - _CLOCK_SKEW
        api.dispatch(repo, spec.file, spec.ref, {**inputs, RUN_INPUT: marker})
        _tell(request, "dispatched", f"{repo.full_name} {spec.file} on {spec.ref}")
        follow = _Follow(self, request, api, repo, deadline, cancel)
        run: Run | None = None
        try:
            run = follow.find(spec.file, marker, since)
            _tell(request, "run", run.html_url)
            run = follow.until_completed(run)
        except _Stopped as stop:
            run = run or follow.listed(spec.file, marker, since)  # one last look: never leave it running
            if run is not None:
                api.cancel(repo, run.id)
            return CastResult(stop.outcome, message=stop.message, output=_output(repo, spec, run, []))
        artifacts = self._collect(api, repo, run, request.work_dir)
        outcome = _CONCLUSIONS.get(run.conclusion or "", Outcome.FAILED)
        output = _output(repo, spec, run, artifacts)
        message = "" if outcome.is_success else f"the workflow run ended {run.conclusion}"
        details = {} if outcome.is_success else {"conclusion": run.conclusion, "run_url": run.html_url}
        return CastResult(outcome, output=output, message=message, details=details, artifacts=artifacts)

    def _collect(self, api: Metered, repo: Repo, run: Run, work_dir: Path | None) -> list[Artifact]:
        """The run's artifacts as zips in ``work_dir`` (none without one), within the size budget."""
        if work_dir is None:
            return []
        left = self.max_artifact_bytes
        collected: list[Artifact] = []
        taken: set[str] = set()
        for item in api.artifacts(repo, run.id):
            if item.expired:
                continue
            if item.size > left:
                raise LimitExceeded(
                    f"the run's artifacts are larger than {self.max_artifact_bytes} bytes",
                    details={"limit_bytes": self.max_artifact_bytes, "artifact": item.name},
                )
            name = _file_name(item.name, taken)
            path = work_dir / name
            size = api.download(repo, item.id, path, max_bytes=left)
            left -= size
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            collected.append(Artifact(name, path, size, sha, media_type="application/zip"))
        return collected


class _Follow:
    """Polls of one cast's run, each after a pause that ends early on cancel; out of time raises."""

    def __init__(
        self,
        runtime: WorkflowRuntime,
        request: CastRequest,
        api: Metered,
        repo: Repo,
        deadline: float,
        cancel: threading.Event,
    ) -> None:
        self.runtime, self.request, self.api, self.repo = runtime, request, api, repo
        self.deadline, self.cancel = deadline, cancel
        self.pauses = runtime.backoff.pauses()

    def pause(self) -> None:
        left = self.deadline - self.runtime.clock.monotonic()
        if left <= 0:
            raise _Stopped(Outcome.TIMEOUT, "the workflow run did not end within the cast's time limit")
        if self.cancel.wait(min(next(self.pauses), left)):
            raise _Stopped(Outcome.CANCELED, "canceled while the workflow ran")

    def find(self, file: str, marker: str, since: datetime) -> Run:
        """The dispatched run: GitHub lists it a moment after the dispatch, titled with the marker."""
        while (run := self.listed(file, marker, since)) is None:
            self.pause()
        return run

    def listed(self, file: str, marker: str, since: datetime) -> Run | None:
        """The dispatched run if GitHub lists it yet."""
        return next((r for r in self.api.runs(self.repo, file, since) if marker in r.display_title), None)

    def until_completed(self, run: Run) -> Run:
        """The run once completed, telling each status it passes through."""
        told = run.status
        _tell(self.request, run.status, run.html_url)
        while run.status != "completed":
            self.pause()
            run = self.api.run(self.repo, run.id)
            if run.status != told:
                told = run.status
                _tell(self.request, run.status, run.conclusion or run.html_url)
        return run


def _tell(request: CastRequest, event: str, detail: str) -> None:
    if request.progress is not None:
        request.progress(event, STEP, detail)


def _file_name(name: str, taken: set[str]) -> str:
    base = _UNSAFE_NAME.sub("_", name).strip("._") or "artifact"
    candidate, n = f"{base}.zip", 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}.zip"
    taken.add(candidate)
    return candidate


def _output(repo: Repo, spec: WorkflowSpec, run: Run | None, artifacts: list[Artifact]) -> dict[str, Any]:
    return {
        "repo": repo.full_name,
        "workflow": spec.file,
        "ref": spec.ref,
        "run_id": run.id if run is not None else None,
        "run_url": run.html_url if run is not None else None,
        "status": run.status if run is not None else None,
        "conclusion": run.conclusion if run is not None else None,
        "artifacts": [{"name": a.name, "size": a.size, "sha256": a.sha256} for a in artifacts],
    }
