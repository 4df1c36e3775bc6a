"""``HostRuntime``: the ``Runtime`` of ``execution: host`` spells (trusted code only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from spell.errors import SpellError
from spell.runtimes.base import CastRequest, CastResult, Outcome
from spell.runtimes.host.engine import EngineResult, EngineSettings, StepEngine
from spell.runtimes.host.sandbox import Sandbox, StartsAhead, Unconfined
from spell.runtimes.host.workspace import Workspace, workspace

__all__ = ["HostRuntime", "to_cast_result"]


class HostRuntime:
    """Run host steps in a private copy of the bundle; ``CastRequest.cancel`` kills the running step
    at once, ``CastRequest.progress`` and ``CastRequest.log`` get the steps' live reports.

    ``sandbox`` starts each shell step (default: unconfined, for trusted code run locally); the
    server passes the one its operator chose (``sandbox.py``).
    """

    def __init__(
        self,
        settings: EngineSettings | None = None,
        *,
        temp_base: Path | None = None,
        sandbox: Sandbox | None = None,
    ) -> None:
        self.settings = settings or EngineSettings()
        self.temp_base = temp_base
        self.sandbox: Sandbox = sandbox or Unconfined()

    def run(self, request: CastRequest) -> CastResult:
        """Run one cast to its end; spell faults become the outcome, never an exception."""
        try:
            with self._workspace(request) as space:
                (space.bundle / ".tmp").mkdir(exist_ok=True)
                self.sandbox.prepare(space.root)
                engine = StepEngine(
                    request.manifest,
                    space.bundle,
                    input_path=space.input_path,
                    input_value=request.input,
                    secrets_env=request.env,
                    settings=self.settings,
                    cancel=request.cancel,
                    progress=request.progress,
                    log=request.log,
                    sandbox=self.sandbox,
                    sandbox_root=space.root,
                    definitions_dir=request.bundle_dir,
                )
                return to_cast_result(engine.run())
        except SpellError as exc:  # e.g. a bundle with a link in it
            return CastResult(Outcome.FAILED, message=exc.message, details={"code": exc.code})

    @contextmanager
    def _workspace(self, request: CastRequest) -> Iterator[Workspace]:
        """The cast's workspace, in a folder a sandbox started ahead already waits around if the
        sandbox has one ready (``warm.py``); that sandbox is ended with the cast if no step took it."""
        warm = self.sandbox if isinstance(self.sandbox, StartsAhead) else None
        root = warm.lease(self.temp_base) if warm is not None else None
        try:
            with workspace(request.bundle_dir, request.input, base=self.temp_base, root=root) as space:
                yield space
        finally:
            if warm is not None and root is not None:
                warm.release(root)

    def close(self) -> None:
        """End the sandboxes started ahead, if the sandbox keeps any (call when no cast runs)."""
        if isinstance(self.sandbox, StartsAhead):
            self.sandbox.close()


def to_cast_result(result: EngineResult) -> CastResult:
    """Map an engine result onto the runtime contract."""
    shell_records = [
        r for r in result.steps if r.exit_code is not None and not r.name.startswith("rollback.")
    ]
    last_stdout = ""
    for record in reversed(result.steps):
        key = f"step.{record.name}.stdout"
        if key in result.outputs:
            last_stdout = str(result.outputs[key])
            break
    details: dict[str, Any] = {
        "steps": [s.to_dict() for s in result.steps],
        "checks": [c.to_dict() for c in result.checks],
        "rollback": result.rollback.to_dict(),
    }
    if result.violations and result.outcome is Outcome.POLICY_VIOLATION:
        details["code"] = "EGRESS_DENIED"
        details["reason"] = result.violations[0]["reason"]
    return CastResult(
        outcome=result.outcome,
        output=result.outputs,
        stdout=last_stdout,
        message=result.message,
        exit_code=shell_records[-1].exit_code if shell_records else None,
        usage=result.usage,
        violations=list(result.violations),
        details=details,
    )
