"""The ``http`` step: a JSON request definition, templated, sent once; non-2xx is a failure.

It leaves through the shared egress rules (``spell.runtimes.egress``): https to the hosts of
``runtime.policy.net_allow``, public addresses only (the one checked is the one dialled), redirects
checked hop by hop, unless the operator's ``EgressPolicy`` opens more.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spell.errors import InvalidInput, InvalidManifest
from spell.runtimes.egress import Denied, EgressPolicy, Refused
from spell.runtimes.host.templating import render

__all__ = ["HttpRequest", "HttpResult", "load_request", "send_request"]

_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class HttpRequest:
    """A resolved request."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


@dataclass(frozen=True)
class HttpResult:
    """What came back (``status`` 0 when nothing did); ``denied`` when the egress rules refused it."""

    status: int
    body: Any
    raw_bytes: int
    wall_ms: float
    error: str | None = None
    denied: Denied | None = None
    requests: int = 1

    @property
    def ok(self) -> bool:
        """True for a 2xx response."""
        return self.error is None and 200 <= self.status < 300


def load_request(path: Path, input_value: Any, env: Mapping[str, str]) -> HttpRequest:
    """Read the step's definition file and resolve its templates."""
    try:
        definition = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidManifest(f"http step {path.name}: not a readable JSON file: {exc}") from None
    if not isinstance(definition, dict):
        raise InvalidManifest(f"http step {path.name}: the definition must be a JSON object")
    resolved = render(definition, input_value, env)
    method = str(resolved.get("method", "GET")).upper()
    url = resolved.get("url")
    if method not in _METHODS:
        raise InvalidManifest(f"http step {path.name}: unsupported method {method!r}")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InvalidInput(f"http step {path.name}: url must resolve to an http(s) URL")
    headers = resolved.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise InvalidManifest(f"http step {path.name}: headers must be an object of strings")
    headers = {str(k).lower(): v for k, v in headers.items()}
    body = resolved.get("body")
    payload: bytes | None = None
    if isinstance(body, str):
        payload = body.encode("utf-8")
    elif body is not None:
        payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
        headers.setdefault("content-type", "application/json")
    return HttpRequest(method, url, headers, payload)


def send_request(
    request: HttpRequest,
    *,
    policy: EgressPolicy,
    allow: tuple[str, ...],
    timeout_s: float,
    max_bytes: int,
) -> HttpResult:
    """Send the request to an ``allow``-listed host; any status is returned, refusals and transport
    failures become ``denied`` / ``error``. Blocking (resolution included)."""
    import http.client  # loaded only by casts that send requests

    started = time.perf_counter()
    try:
        response = policy.fetch(
            request.method,
            request.url,
            allow=allow,
            headers=request.headers,
            body=request.body,
            timeout_s=timeout_s,
            max_bytes=max_bytes,
        )
    except Denied as exc:
        error = f"egress denied ({exc.reason}): {exc.message}"
        return HttpResult(0, None, 0, _ms(started), error=error, denied=exc, requests=0)
    except Refused as exc:
        return HttpResult(0, None, 0, _ms(started), error=f"request failed: {exc.message}")
    except (OSError, http.client.HTTPException) as exc:
        return HttpResult(0, None, 0, _ms(started), error=f"request failed: {exc}")
    raw = response.body
    text = raw.decode("utf-8", errors="replace")
    try:
        body: Any = json.loads(text)
    except json.JSONDecodeError:
        body = text
    return HttpResult(response.status, body, len(raw), _ms(started), requests=response.requests)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 3)
