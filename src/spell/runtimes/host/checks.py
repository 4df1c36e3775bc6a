"""Post-conditions of a cast: ``exit_code``, ``file_exists``, ``http_status``, ``jsonpath_equals``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spell.bundle.manifest import Check
from spell.errors import EgressDenied, FetchFailed, InvalidManifest, SpellError
from spell.kit.jsonpath import MISSING, get_path
from spell.runtimes.egress import Denied, EgressPolicy, Refused
from spell.runtimes.host.outputs import resolve_output

__all__ = ["CheckResult", "evaluate_checks"]


@dataclass(frozen=True)
class CheckResult:
    """One check and whether it held."""

    type: str
    success: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe mapping."""
        return {"type": self.type, "success": self.success, "message": self.message}


def evaluate_checks(
    checks: tuple[Check, ...],
    *,
    work_dir: Path,
    outputs: Mapping[str, Any],
    http_statuses: Mapping[str, int],
    steps_succeeded: bool,
    timeout_s: float = 10.0,
    egress: EgressPolicy | None = None,
    net_allow: tuple[str, ...] = (),
) -> list[CheckResult]:
    """Evaluate every check in order; a malformed check is a failed check, not a crash.

    An ``http_status`` check that fetches a URL leaves by the egress rules of the steps
    (``egress``, strict when None, and the manifest's ``net_allow``).
    """
    out = _Egress(egress or EgressPolicy(), net_allow, timeout_s)
    results = []
    for check in checks:
        try:
            results.append(_evaluate(check, work_dir, outputs, http_statuses, steps_succeeded, out))
        except SpellError as exc:
            results.append(CheckResult(check.type, False, exc.message))
    return results


def _evaluate(
    check: Check,
    work_dir: Path,
    outputs: Mapping[str, Any],
    http_statuses: Mapping[str, int],
    steps_succeeded: bool,
    out: _Egress,
) -> CheckResult:
    params = check.params
    if check.type == "exit_code":
        message = "all steps succeeded" if steps_succeeded else "some step failed"
        return CheckResult(check.type, steps_succeeded, message)
    if check.type == "file_exists":
        rel = _string(params, "path", check.type)
        target = (work_dir / rel).resolve()
        if not target.is_relative_to(work_dir.resolve()):
            raise InvalidManifest(f"file_exists path {rel!r} leaves the bundle")
        exists = target.exists()
        return CheckResult(check.type, exists, f"file {'exists' if exists else 'missing'}: {rel}")
    if check.type == "http_status":
        expect = params.get("expect")
        if not isinstance(expect, int):
            raise InvalidManifest("http_status check needs params.expect (an integer)")
        got = _http_status(params, outputs, http_statuses, out)
        ok = got == expect
        detail = f"got {got}, expected {expect}"
        return CheckResult(check.type, ok, f"http status {'matched' if ok else 'mismatch'}: {detail}")
    source = resolve_output(outputs, _string(params, "from_output", check.type))
    path = _string(params, "path", check.type)
    actual = get_path(source, path)
    expected = params.get("expected")
    ok = actual is not MISSING and actual == expected and type(actual) is type(expected)
    shown = "missing" if actual is MISSING else repr(actual)
    return CheckResult(
        check.type,
        ok,
        f"jsonpath {path} {'matched' if ok else f'mismatch: expected {expected!r}, got {shown}'}",
    )


@dataclass(frozen=True)
class _Egress:
    policy: EgressPolicy
    allow: tuple[str, ...]
    timeout_s: float


def _http_status(
    params: Mapping[str, Any], outputs: Mapping[str, Any], statuses: Mapping[str, int], out: _Egress
) -> int:
    step = params.get("step")
    if isinstance(step, str):
        if step not in statuses:
            raise InvalidManifest(f"http_status check names step {step!r}, which sent no request")
        return statuses[step]
    url = params.get("url")
    if url is None and isinstance(params.get("url_from_output"), str):
        url = resolve_output(outputs, params["url_from_output"])
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InvalidManifest("http_status check needs params.step, params.url or params.url_from_output")
    import http.client  # loaded only when a check fetches a URL

    try:
        response = out.policy.fetch("GET", url, allow=out.allow, timeout_s=out.timeout_s, max_bytes=1 << 20)
    except Denied as exc:
        raise EgressDenied(
            f"http_status check: egress denied ({exc.reason}): {exc.message}",
            details={"reason": exc.reason, "url": exc.url},
        ) from None
    except (Refused, OSError, http.client.HTTPException) as exc:
        raise FetchFailed(f"http_status check could not reach {url}: {exc}") from None
    return response.status


def _string(params: Mapping[str, Any], key: str, kind: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidManifest(f"{kind} check needs params.{key} (a string)")
    return value
