"""``BuiltinRuntime``: runs a builtin function on the cast's input and measures it."""

from __future__ import annotations

import time

import orjson

from spell.kit.json_schema import compile_schema
from spell.runtimes.base import CastRequest, CastResult, Outcome, Usage
from spell.runtimes.builtin.catalog import BUILTINS, BuiltinFailed

__all__ = ["BuiltinRuntime"]


class BuiltinRuntime:
    """Runs ``runtime.builtin`` in-process: the function is the platform's own code, not the maker's."""

    def run(self, request: CastRequest) -> CastResult:
        """Check the input against the function's schema, call it, and return its JSON output."""
        started, cpu = time.perf_counter(), time.thread_time()
        result = self._run(request)
        result.usage.wall_ms = (time.perf_counter() - started) * 1000
        result.usage.cpu_ms = (time.thread_time() - cpu) * 1000
        return result

    def _run(self, request: CastRequest) -> CastResult:
        if request.cancel is not None and request.cancel.is_set():
            return CastResult(Outcome.CANCELED, message="canceled before it started")
        name = request.manifest.runtime.builtin or ""
        builtin = BUILTINS.get(name)
        if builtin is None:
            return CastResult(
                Outcome.POLICY_VIOLATION,
                message=f"no builtin function {name!r} on this platform",
                details={"builtin": name, "known": sorted(BUILTINS)},
            )
        problems = compile_schema(builtin.input_schema).problems(request.input)
        if problems:
            first = problems[0]
            return CastResult(
                Outcome.FAILED,
                message=f"input does not fit builtin {name!r}: {first['path']}: {first['message']}",
                details={"builtin": name, "problems": problems},
            )
        try:
            output = builtin.fn(request.input)
        except BuiltinFailed as exc:
            return CastResult(Outcome.FAILED, message=str(exc), details={"builtin": name, **exc.details})
        encoded = orjson.dumps(output)
        usage = Usage(output_bytes=len(encoded), stdout_bytes=len(encoded))
        limit = request.limits.max_stdout_bytes
        if len(encoded) > limit:
            return CastResult(
                Outcome.OUTPUT_LIMIT,
                message=f"output of {len(encoded)} bytes exceeds the limit of {limit}",
                usage=usage,
            )
        return CastResult(Outcome.SUCCEEDED, output=output, usage=usage)
