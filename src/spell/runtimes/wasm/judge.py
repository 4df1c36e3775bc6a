"""Turn the raw facts of a run into one outcome with a clear message (first matching rule wins)."""

from __future__ import annotations

import json
from typing import Any

import orjson
import wasmtime

from spell.errors import OutputInvalid
from spell.kit.json_depth import text_nests_beyond
from spell.runtimes.base import MAX_OUTPUT_DEPTH, Limits, Outcome
from spell.runtimes.wasm.interrupt import StopReason, Watch
from spell.runtimes.wasm.sandbox import Ran

__all__ = ["Verdict", "judge", "judge_pool_refusal", "parse_output"]

_EXCERPT = 2000
Verdict = tuple[Outcome, str, dict[str, Any]]


def judge(ran: Ran, watch: Watch, limits: Limits, violations: list[dict[str, Any]]) -> Verdict:
    """Pick the outcome: host stops, then limits, then traps and exits, then policy."""
    stopped = _stopped(watch, limits)
    if stopped is not None:
        return stopped
    trap_code = ran.trap.trap_code if ran.trap is not None else None
    if trap_code is wasmtime.TrapCode.OUT_OF_FUEL:
        return Outcome.FUEL_EXHAUSTED, f"the cast used all its fuel ({limits.fuel} instructions)", {}
    failed = ran.trap is not None or ran.error is not None or ran.exit_code not in (0, None)
    if failed and _near_memory_limit(ran, limits):
        return Outcome.MEMORY_LIMIT, f"linear memory reached the limit of {limits.max_memory_bytes} bytes", {}
    if violations:
        return Outcome.POLICY_VIOLATION, violations[0].get("message", "a policy violation"), {}
    if ran.trap is not None:
        message = _cause(ran.trap.message)
        code = trap_code.name if trap_code is not None else None
        return Outcome.TRAP, f"the module trapped: {message}", {"trap_code": code}
    if ran.error is not None:
        return _link_or_start_error(ran.error, limits)
    if ran.exit_code not in (0, None):
        excerpt = _stderr_excerpt(ran)
        return (
            Outcome.FAILED,
            f"the module exited with code {ran.exit_code}: {excerpt}",
            {"reason": "exit_code"},
        )
    if ran.extra.get("no_start"):
        return Outcome.FAILED, "the module exports no _start (not a WASI command)", {"reason": "no_start"}
    return Outcome.SUCCEEDED, "", {}


def judge_pool_refusal(error: wasmtime.WasmtimeError, limits: Limits) -> Verdict | None:
    """A module the pooled engine refuses to load (memory or tables past any slot) is over a limit.

    Without the pool, the same module loads and the store limits refuse it at instantiation; the
    outcome is the same either way. None when ``error`` is not such a refusal.
    """
    if "pooling allocator" not in str(error):
        return None
    return _link_or_start_error(error, limits)


def parse_output(stdout: bytes, output_format: str) -> tuple[Any, OutputInvalid | None]:
    """Parse stdout as the manifest says; returns ``(output, problem)``.

    The problem (the spell's fault) is stdout that is not JSON, or JSON nested deeper than
    ``MAX_OUTPUT_DEPTH``; its ``details["reason"]`` says which.
    """
    if output_format != "json":
        return stdout.decode("utf-8", errors="replace"), None
    if text_nests_beyond(stdout, MAX_OUTPUT_DEPTH):
        return None, _too_deep()
    try:
        return orjson.loads(stdout), None  # fast path: parsing is on every cast's clock
    except orjson.JSONDecodeError:
        pass
    try:  # the standard parser accepts what orjson refuses on purpose (integers past 64 bits)
        return json.loads(stdout), None
    except RecursionError:  # deep text that is not JSON either (the check above let it by)
        return None, _too_deep()
    except (ValueError, UnicodeDecodeError) as exc:
        message = f"stdout is not JSON ({exc}); set [io] output_format = 'text' for text output"
        return None, OutputInvalid(message, details={"reason": "output_not_json"})


def _too_deep() -> OutputInvalid:
    message = f"stdout is JSON nested deeper than {MAX_OUTPUT_DEPTH} levels"
    return OutputInvalid(message, details={"reason": "output_too_deep", "max_depth": MAX_OUTPUT_DEPTH})


def _stopped(watch: Watch, limits: Limits) -> Verdict | None:
    if watch.reason == StopReason.CANCELED:
        return Outcome.CANCELED, "the cast was canceled", {}
    if watch.reason == StopReason.TIMEOUT:
        return Outcome.TIMEOUT, f"the cast ran past its wall-clock limit of {limits.timeout_ms} ms", {}
    if watch.output_overflow is not None:
        cap = limits.max_stdout_bytes if watch.output_overflow == "stdout" else limits.max_stderr_bytes
        return Outcome.OUTPUT_LIMIT, f"{watch.output_overflow} passed its limit of {cap} bytes", {}
    return None


def _near_memory_limit(ran: Ran, limits: Limits) -> bool:
    # wasmtime answers a refused memory.grow with -1 and no event, so a failure while memory sits
    # within one growth step of the cap is read as the cap's doing.
    slack = max(65536, limits.max_memory_bytes // 16)  # one page, or a sixteenth of the cap
    return ran.peak_memory + slack >= limits.max_memory_bytes


def _link_or_start_error(error: wasmtime.WasmtimeError, limits: Limits) -> Verdict:
    text = str(error)
    first = _cause(text)
    lowered = text.lower()
    if "memory" in lowered and ("limit" in lowered or "minimum size" in lowered):
        return Outcome.MEMORY_LIMIT, f"the module needs more memory than {limits.max_memory_bytes} bytes", {}
    if "table" in lowered and "limit" in lowered:
        # tables live under the same store limits as memory: the closest outcome there is
        message = f"the module needs tables larger than {limits.max_table_elements} elements"
        return Outcome.MEMORY_LIMIT, message, {"reason": "table_limit"}
    if "unknown import" in lowered or "incompatible import type" in lowered:
        if "`spell::" in text and "unknown import" in lowered:
            message = "the module imports spell.http_request but runtime.policy.net_allow lists no hosts"
            return Outcome.POLICY_VIOLATION, message, {"reason": "egress_not_granted"}
        reason = "unknown_import" if "unknown import" in lowered else "bad_import"
        headline = text.strip().splitlines()[0]
        return Outcome.FAILED, f"the module cannot be linked: {headline} ({first})", {"reason": reason}
    return Outcome.TRAP, f"the module failed: {first}", {"trap_code": None}


def _cause(text: str) -> str:
    """The root cause line of a wasmtime error (its text starts with a backtrace)."""
    _, _, cause = text.rpartition("Caused by:")
    lines = [line.strip() for line in (cause or text).splitlines() if line.strip()]
    return lines[-1] if cause and lines else (lines[0] if lines else "error")


def _stderr_excerpt(ran: Ran) -> str:
    text = ran.stderr[-_EXCERPT:].decode("utf-8", errors="replace").strip()
    return text or "(no stderr)"
