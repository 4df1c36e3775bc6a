"""The ``http`` step: a JSON request definition, templated, sent once; non-2xx is a failure."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spell.errors import InvalidInput, InvalidManifest
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
    """What came back (``status`` 0 when nothing did)."""

    status: int
    body: Any
    raw_bytes: int
    wall_ms: float
    error: str | None = None

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


def send_request(request: HttpRequest, *, timeout_s: float, max_bytes: int) -> HttpResult:
    """Send the request; any status is returned, transport failures become ``error``."""
    import urllib.error  # urllib.request pulls in ssl and email: loaded only by casts that need it
    import urllib.request

    started = time.perf_counter()
    prepared = urllib.request.Request(  # noqa: S310 - scheme checked in load_request
        request.url, data=request.body, headers=request.headers, method=request.method
    )
    try:
        with urllib.request.urlopen(prepared, timeout=max(timeout_s, 0.001)) as response:  # noqa: S310
            status, raw = int(response.status), response.read(max_bytes + 1)
    except urllib.error.HTTPError as exc:
        status, raw = int(exc.code), exc.read(max_bytes + 1)
        exc.close()
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return HttpResult(0, None, 0, _ms(started), error=f"request failed: {reason}")
    if len(raw) > max_bytes:
        return HttpResult(
            status, None, len(raw), _ms(started), error=f"response larger than {max_bytes} bytes"
        )
    text = raw.decode("utf-8", errors="replace")
    try:
        body: Any = json.loads(text)
    except json.JSONDecodeError:
        body = text
    return HttpResult(status, body, len(raw), _ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 3)
