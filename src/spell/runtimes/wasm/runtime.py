"""``WasmRuntime``: runs WASI command modules with limits, deny-by-default capabilities and measured usage."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import wasmtime

from spell.bundle.manifest import WasmSpec
from spell.config.wasm import WasmSettings
from spell.errors import InvalidInput
from spell.runtimes.base import Artifact, CastRequest, CastResult, Limits, Outcome, Usage
from spell.runtimes.limits import effective_limits
from spell.runtimes.wasm.cache import ModuleCache
from spell.runtimes.wasm.capabilities import CapabilityError, plan_grants
from spell.runtimes.wasm.capture import log_tail
from spell.runtimes.wasm.egress import EgressClient, EgressOptions
from spell.runtimes.wasm.engine import EngineConfig, shared_engine
from spell.runtimes.wasm.interrupt import Watch
from spell.runtimes.wasm.judge import judge, judge_pool_refusal, parse_output
from spell.runtimes.wasm.linking import Linkers
from spell.runtimes.wasm.module_file import ModuleFileError, ModuleFiles
from spell.runtimes.wasm.sandbox import run_module
from spell.runtimes.wasm.shutdown import install as install_exit_hook

__all__ = ["WasmRuntime"]


class WasmRuntime:
    """The ``wasm`` runtime. One instance per process is enough: it is safe to call from many threads.

    ``settings`` are the operator's maxima (``spell.config.wasm``); ``egress`` changes how the
    egress host function connects (tests only). ``instance_slots`` is how many casts can hold an
    instance at once on the pooled engine (``engine.py``); a cast waits, within its wall clock, for
    a free slot. 0 allocates every instance afresh, with no bound.
    """

    def __init__(
        self,
        settings: WasmSettings | None = None,
        *,
        egress: EgressOptions | None = None,
        tick_s: float = 0.005,
        instance_slots: int = 128,
    ) -> None:
        self.settings = settings or WasmSettings()
        self.egress_options = egress or EgressOptions()
        config = EngineConfig(
            max_stack_bytes=self.settings.max_stack_bytes,
            instance_slots=instance_slots,
            max_table_elements=self.settings.max_table_elements,
        )
        shared = shared_engine(config, tick_s=tick_s)
        self.engine, self._ticker = shared.engine, shared.ticker
        directory = self.settings.cache_dir / "wasm" if self.settings.cache_dir is not None else None
        self.cache = ModuleCache(
            self.engine, config.cache_key, capacity=self.settings.module_cache_entries, directory=directory
        )
        self._files = ModuleFiles(max_bytes=self.settings.max_module_bytes)
        self._linkers = Linkers(self.engine, capacity=self.settings.module_cache_entries)
        install_exit_hook()  # wasmtime must be quiet before the interpreter finalizes

    def close(self) -> None:
        """Stop the epoch ticker thread now (it stops by itself when idle; a later cast restarts it)."""
        self._ticker.close()

    def run(self, request: CastRequest) -> CastResult:
        """Run one cast to its end and return the measured result.

        Spell faults are outcomes, never exceptions; ``InvalidInput`` is raised only for a caller's
        input that is not JSON.
        """
        started = time.monotonic()
        result = self._run(request)
        result.usage.wall_ms = round((time.monotonic() - started) * 1000, 3)
        return result

    def _run(self, request: CastRequest) -> CastResult:
        spec = request.manifest.runtime.wasm
        if request.manifest.runtime.execution != "wasm" or spec is None:
            return _fail(Outcome.FAILED, "the manifest's runtime.execution is not wasm", reason="not_wasm")
        limits = _limits(spec, request.limits, self.settings)
        if request.within_s is not None:
            limits = dataclasses.replace(
                limits, timeout_ms=min(limits.timeout_ms, int(request.within_s * 1000))
            )
        if request.cancel is not None and request.cancel.is_set():
            return _fail(Outcome.CANCELED, "the cast was canceled before it started")
        loaded = self._load(request.bundle_dir, spec.module, limits)
        if isinstance(loaded, CastResult):
            return loaded
        digest, module = loaded
        policy = request.manifest.runtime.policy
        scratch = self._scratch(request) if policy.fs_write else None
        try:
            grants = plan_grants(policy, bundle_dir=request.bundle_dir, scratch=scratch, env=request.env)
        except CapabilityError as exc:
            result = _fail(Outcome.POLICY_VIOLATION, exc.message, reason=exc.reason)
            result.violations.append(
                {"code": "CAPABILITY_DENIED", "reason": exc.reason, "message": exc.message}
            )
            return result
        watch = Watch(timeout_s=limits.timeout_ms / 1000, cancel=request.cancel)
        violations: list[dict[str, Any]] = []
        egress = None
        if policy.net_allow:
            egress = EgressClient(policy.net_allow, self.settings, watch, self.egress_options, violations)
        stdin = _encode_input(request.input)
        if not self._ticker.enter(watch.remaining_s()):  # waits only when every instance slot is taken
            message = f"no instance slot became free within the wall-clock limit of {limits.timeout_ms} ms"
            return _fail(Outcome.TIMEOUT, message, reason="no_instance_slot")
        try:
            ran = run_module(
                self.engine,
                lambda: self._linkers.pre(digest, module, egress=egress is not None),
                stdin=stdin,
                limits=limits,
                grants=grants,
                watch=watch,
                egress=egress,
                argv0="",  # no arguments: input is stdin only, and skipping argv saves time per cast
            )
        finally:
            self._ticker.leave()  # after run_module closed the store: its instance slot is free
        outcome, message, details = judge(ran, watch, limits, violations)
        stdout, stderr = ran.stdout, ran.stderr
        result = CastResult(
            outcome=outcome,
            stdout=stdout.decode("utf-8", errors="replace"),
            stderr=stderr.decode("utf-8", errors="replace"),
            log=log_tail(stderr, written=ran.stderr_attempted),
            message=message,
            exit_code=ran.exit_code,
            violations=violations,
            details={k: v for k, v in details.items() if v is not None},
            usage=Usage(
                cpu_ms=round(ran.cpu_ms, 3),
                fuel=ran.fuel_used,
                peak_memory_bytes=ran.peak_memory,
                stdout_bytes=ran.stdout_attempted,
                stderr_bytes=ran.stderr_attempted,
                output_bytes=len(stdout),
                network_requests=egress.requests if egress is not None else 0,
                network_bytes=egress.bytes if egress is not None else 0,
            ),
        )
        if outcome is Outcome.SUCCEEDED:
            self._finish_success(result, stdout, request, grants.writable)
        return result

    def _finish_success(
        self,
        result: CastResult,
        stdout: bytes,
        request: CastRequest,
        writable: dict[str, Path],
    ) -> None:
        output, problem = parse_output(stdout, request.manifest.io.output_format)
        if problem is not None:
            result.outcome, result.message = Outcome.FAILED, problem.message
            result.details.update(problem.details, code=problem.code)
            return
        result.output = output
        artifacts = _collect_artifacts(writable)
        total = sum(a.size for a in artifacts)
        if total > self.settings.max_artifact_bytes:
            result.outcome = Outcome.OUTPUT_LIMIT
            result.message = f"artifacts total {total} bytes; the limit is {self.settings.max_artifact_bytes}"
            return
        result.artifacts = artifacts

    def _load(
        self, bundle_dir: Path, module_rel: str, limits: Limits
    ) -> tuple[str, wasmtime.Module] | CastResult:
        try:
            found = self._files.lookup(bundle_dir, module_rel)
            return found.sha256, self.cache.get_by_digest(found.sha256, found.read)
        except ModuleFileError as exc:
            return _fail(Outcome.FAILED, exc.message, reason=exc.reason)
        except OSError as exc:
            return _fail(
                Outcome.FAILED,
                f"cannot read the module {module_rel}: {exc.strerror}",
                reason="module_missing",
            )
        except wasmtime.WasmtimeError as exc:
            refused = judge_pool_refusal(exc, limits)
            if refused is not None:
                outcome, message, details = refused
                kept = {k: v for k, v in details.items() if v is not None}
                return CastResult(outcome=outcome, message=message, details=kept)
            first = str(exc).splitlines()[0] if str(exc) else "invalid module"
            return _fail(
                Outcome.FAILED, f"the module is not valid WebAssembly: {first}", reason="module_invalid"
            )

    @staticmethod
    def _scratch(request: CastRequest) -> Path:
        if request.work_dir is not None:
            request.work_dir.mkdir(parents=True, exist_ok=True)
            return request.work_dir
        return Path(tempfile.mkdtemp(prefix="spell-cast-"))


def _encode_input(value: Any) -> bytes:
    # NaN and infinities are not JSON; like most encoders orjson writes them as null.
    try:
        return orjson.dumps(value)  # compact UTF-8, like json.dumps(separators=(",", ":")), faster
    except TypeError:  # e.g. integers past 64 bits, which the standard encoder handles
        pass
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"the cast input is not JSON: {exc}", details={"reason": "input_not_json"}
        ) from None


@functools.lru_cache(maxsize=1024)
def _limits(spec: WasmSpec, defaults: Limits, maxima: WasmSettings) -> Limits:
    return effective_limits(spec, defaults, maxima)  # pure and called per cast: remembered


def _fail(outcome: Outcome, message: str, *, reason: str | None = None) -> CastResult:
    return CastResult(outcome=outcome, message=message, details={"reason": reason} if reason else {})


def _collect_artifacts(writable: dict[str, Path]) -> list[Artifact]:
    artifacts: list[Artifact] = []
    for guest, folder in sorted(writable.items()):
        for dirpath, _dirs, files in os.walk(folder):
            for name in sorted(files):
                path = Path(dirpath) / name
                if path.is_symlink() or not path.is_file():
                    continue  # only regular files the guest wrote become artifacts
                data = path.read_bytes()
                rel = path.relative_to(folder).as_posix()
                artifacts.append(
                    Artifact(
                        name=f"{guest.lstrip('/')}/{rel}",
                        path=path,
                        size=len(data),
                        sha256=hashlib.sha256(data).hexdigest(),
                    )
                )
    return artifacts
