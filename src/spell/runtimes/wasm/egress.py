"""The ``spell.http_request`` host function: HTTPS egress to allow-listed hosts (see README.md).

It is defined in a cast's linker only when ``runtime.policy.net_allow`` lists hosts. Every request
is counted; every refusal is answered to the guest and recorded as a violation of the cast.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import wasmtime

from spell.config.wasm import WasmSettings
from spell.runtimes.egress import Denied, EgressPolicy, Refused, check_headers
from spell.runtimes.egress.client import Dial
from spell.runtimes.egress.rules import Resolver, system_resolver
from spell.runtimes.wasm import guest_memory
from spell.runtimes.wasm.interrupt import Watch

__all__ = ["EgressClient", "EgressOptions", "define_http_request"]

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
_MAX_HOPS = 5
_MAX_REQUEST_JSON = 4 * 1024 * 1024


@dataclass(frozen=True)
class EgressOptions:
    """How egress connects; the defaults are the system's trust store, resolver and dialler.

    Only the connecting side can be replaced (tests stand up a local HTTPS server with their own CA
    and a resolver that names it): the rules stay https to listed public hosts whatever is given.
    """

    ssl_context: ssl.SSLContext | None = None
    resolver: Resolver = system_resolver
    dial: Dial | None = None


class EgressClient:
    """The egress state of one cast: allow-list, caps, counters and violations."""

    def __init__(
        self,
        allow: tuple[str, ...],
        settings: WasmSettings,
        watch: Watch,
        options: EgressOptions,
        violations: list[dict[str, Any]],
    ) -> None:
        self.allow = allow
        self.settings = settings
        self.watch = watch
        self.violations = violations
        self.requests = 0
        self.bytes = 0
        # WASM egress is https to listed public hosts only: no operator setting opens more.
        connecting: dict[str, Any] = {"dial": options.dial} if options.dial is not None else {}
        self._policy = EgressPolicy(ssl_context=options.ssl_context, resolver=options.resolver, **connecting)

    def handle(self, raw: bytes) -> dict[str, Any]:
        """Answer one request document from the guest (always a JSON-able dict, never raises)."""
        try:
            method, url, headers, body = _parse_request(raw, self.settings.egress_max_request_bytes)
            return self._send(method, url, headers, body)
        except Denied as exc:
            self.violations.append(
                {"code": "EGRESS_DENIED", "reason": exc.reason, "message": exc.message, "url": exc.url}
            )
            return _error("EGRESS_DENIED", exc.message, reason=exc.reason)
        except Refused as exc:
            return _error(exc.code, exc.message)
        except (OSError, http.client.HTTPException) as exc:
            return _error("NETWORK_ERROR", f"{type(exc).__name__}: {exc}")

    def _send(self, method: str, url: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        timeout = min(self.settings.egress_timeout_ms / 1000, self.watch.remaining_s())
        if timeout <= 0:
            raise Refused("TIMEOUT", "the cast has no wall-clock time left")
        response = self._policy.fetch(
            method,
            url,
            allow=self.allow,
            headers=headers,
            body=body or None,
            timeout_s=timeout,
            max_bytes=self.settings.egress_max_response_bytes,
            max_redirects=_MAX_HOPS,
            before_send=self._count,
        )
        self.bytes += len(response.body)
        return _response(response.status, response.headers, response.body)

    def _count(self, body_bytes: int) -> None:
        if self.requests >= self.settings.egress_max_requests:
            raise Denied(
                "request_limit", f"a cast may make at most {self.settings.egress_max_requests} requests"
            )
        self.requests += 1
        self.bytes += body_bytes


def define_http_request(linker: wasmtime.Linker, client_of: Callable[[], EgressClient | None]) -> None:
    """Define ``spell.http_request(req_ptr, req_len, resp_ptr, resp_cap) -> i32`` in ``linker``.

    ``client_of`` gives the egress state of the calling cast (None: egress is not granted).
    """
    i32 = wasmtime.ValType.i32()
    ty = wasmtime.FuncType([i32, i32, i32, i32], [i32])

    def http_request(
        caller: wasmtime.Caller, req_ptr: int, req_len: int, resp_ptr: int, resp_cap: int
    ) -> int:
        try:
            client = client_of()
            memory = caller.get("memory")
            if client is None or not isinstance(memory, wasmtime.Memory):
                return -1
            if guest_memory.unsigned(req_len) > _MAX_REQUEST_JSON:
                return -1
            raw = guest_memory.read(memory, caller, req_ptr, req_len)
            cap = guest_memory.unsigned(resp_cap)
            guest_memory.read(memory, caller, resp_ptr, cap)  # the whole buffer must be the guest's
            answer = json.dumps(client.handle(raw), separators=(",", ":")).encode()
            guest_memory.write(memory, caller, resp_ptr, answer[:cap])
            return len(answer)
        except Exception:  # out-of-bounds pointers: the ABI's -1, never an unwind into wasmtime
            return -1

    linker.define_func("spell", "http_request", ty, http_request, access_caller=True)


def _parse_request(raw: bytes, max_body: int) -> tuple[str, str, dict[str, str], bytes]:
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Refused("BAD_REQUEST", "the request is not a JSON document") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("url"), str):
        raise Refused("BAD_REQUEST", 'the request must be an object with a "url" string')
    method = str(doc.get("method", "GET")).upper()
    if method not in _METHODS:
        raise Refused("BAD_REQUEST", f"method {method} is not supported")
    headers = doc.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise Refused("BAD_REQUEST", '"headers" must map names to strings')
    check_headers(headers)
    body_text = doc.get("body", "")
    if not isinstance(body_text, str):
        raise Refused("BAD_REQUEST", '"body" must be a string')
    body = body_text.encode()
    if len(body) > max_body:
        raise Refused("REQUEST_TOO_LARGE", f"the request body is larger than {max_body} bytes")
    return method, doc["url"], {str(k): v for k, v in headers.items()}, body


def _response(status: int, headers: dict[str, str], data: bytes) -> dict[str, Any]:
    answer: dict[str, Any] = {"ok": True, "status": status, "headers": headers}
    try:
        answer["body"] = data.decode("utf-8")
    except UnicodeDecodeError:
        answer["body_base64"] = base64.b64encode(data).decode("ascii")
    return answer


def _error(code: str, message: str, **extra: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message, **extra}}
