"""``ApiRuntime``: a cast forwarded to the maker's own HTTPS endpoint (``runtime.api_url``).

The input is POSTed as JSON; a 2xx JSON answer is the output. The endpoint is reached under the shared
egress rules (``spell.runtimes.egress``): https only, its host and the manifest's ``net_allow`` hosts
only, every answer of the name public, the checked address dialled, every redirect hop checked again.
The whole call — lookups, redirects, a slow answer — is bounded by the cast's time limit and the answer
by its output limit. A ``signer`` (the server's) adds Standard Webhooks headers, so the maker can tell
the platform's calls from anyone else's with the secret it already uses for webhooks.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import orjson

from spell.kit.json_depth import text_nests_beyond
from spell.runtimes.base import MAX_OUTPUT_DEPTH, CastRequest, CastResult, Outcome, Usage
from spell.runtimes.egress import Denied, EgressPolicy, Refused, Response

__all__ = ["ApiRuntime", "Signer"]

#: Headers that authenticate one call: given the request and the exact body bytes sent.
Signer = Callable[[CastRequest, bytes], Mapping[str, str]]

_ANSWER_EXCERPT = 512
_CANCEL_POLL_S = 0.05


class ApiRuntime:
    """Runs ``execution: api`` spells by calling their endpoint; never raises for the endpoint's faults."""

    def __init__(self, egress: EgressPolicy, *, signer: Signer | None = None, max_redirects: int = 5) -> None:
        self.egress, self.signer, self.max_redirects = egress, signer, max_redirects
        self._calls = ThreadPoolExecutor(thread_name_prefix="spell-api-call")

    def run(self, request: CastRequest) -> CastResult:
        """POST the input to ``runtime.api_url`` and return its answer as the output."""
        started = time.perf_counter()
        usage = Usage()
        result = self._run(request, usage)
        usage.wall_ms = (time.perf_counter() - started) * 1000
        result.usage = usage
        return result

    def _run(self, request: CastRequest, usage: Usage) -> CastResult:
        cancel = request.cancel or threading.Event()
        if cancel.is_set():
            return CastResult(Outcome.CANCELED, message="canceled before it started")
        url = request.manifest.runtime.api_url or ""
        body = orjson.dumps(request.input)
        headers = {
            "content-type": "application/json",
            "accept": "application/json",
            "user-agent": "spell-platform",
            "spell-id": request.manifest.id,
            "spell-version": request.manifest.version,
            **(self.signer(request, body) if self.signer is not None else {}),
        }
        timeout_s = request.limits.timeout_ms / 1000
        call = self._calls.submit(self._fetch, request, url, headers, body, timeout_s)
        while not call.done():
            if cancel.wait(_CANCEL_POLL_S):
                # The call thread gives up at the deadline on its own; the cast ends now.
                return CastResult(Outcome.CANCELED, message="canceled while the endpoint was answering")
        return _answer(request, url, call, usage, len(body))

    def _fetch(
        self, request: CastRequest, url: str, headers: dict[str, str], body: bytes, timeout_s: float
    ) -> Response:
        host = urlsplit(url).hostname or ""
        return self.egress.fetch(
            "POST",
            url,
            allow=(host, *request.manifest.runtime.policy.net_allow),
            headers=headers,
            body=body,
            timeout_s=timeout_s,
            max_bytes=request.limits.max_stdout_bytes,
            max_redirects=self.max_redirects,
        )


def _answer(request: CastRequest, url: str, call: Future[Response], usage: Usage, sent: int) -> CastResult:
    try:
        response = call.result()
    except Denied as exc:
        violation = {"code": "EGRESS_DENIED", "reason": exc.reason, "message": exc.message, "url": exc.url}
        return CastResult(
            Outcome.POLICY_VIOLATION,
            message=f"the endpoint may not be reached: {exc.message}",
            violations=[violation],
            details={"code": "EGRESS_DENIED", "reason": exc.reason},
        )
    except Refused as exc:
        outcome = {"TIMEOUT": Outcome.TIMEOUT, "RESPONSE_TOO_LARGE": Outcome.OUTPUT_LIMIT}.get(exc.code)
        return CastResult(outcome or Outcome.FAILED, message=exc.message, details={"reason": exc.code})
    except (OSError, http.client.HTTPException) as exc:
        return CastResult(
            Outcome.FAILED,
            message=f"the endpoint could not be reached: {exc}",
            details={"reason": "unreachable"},
        )
    usage.network_requests = response.requests
    usage.network_bytes = sent + len(response.body)
    usage.output_bytes = usage.stdout_bytes = len(response.body)
    excerpt = response.body[:_ANSWER_EXCERPT].decode("utf-8", "replace")
    if not 200 <= response.status < 300:
        return CastResult(
            Outcome.FAILED,
            message=f"the endpoint answered {response.status}",
            details={"reason": "status", "status": response.status, "body": excerpt},
        )
    if request.manifest.io.output_format == "text":
        return CastResult(Outcome.SUCCEEDED, output=response.body.decode("utf-8", "replace"))
    return _json_answer(response.body, excerpt)


def _json_answer(body: bytes, excerpt: str) -> CastResult:
    if text_nests_beyond(body, MAX_OUTPUT_DEPTH):
        return CastResult(
            Outcome.FAILED,
            message=f"the endpoint's answer nests deeper than {MAX_OUTPUT_DEPTH} levels",
            details={"reason": "too_deep"},
        )
    try:
        output: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return CastResult(
            Outcome.FAILED,
            message="the endpoint's answer is not JSON",
            details={"reason": "not_json", "body": excerpt},
        )
    return CastResult(Outcome.SUCCEEDED, output=output)
