"""Error envelopes back into the ``SpellError`` classes the server raised."""

from __future__ import annotations

from typing import Any

import httpx

# Imported for their side effect: each domain's leaves register their codes with spell.errors.
import spell.platform.artifact.errors
import spell.platform.audit.errors
import spell.platform.auth.errors
import spell.platform.billing.errors
import spell.platform.budget.errors
import spell.platform.button.errors
import spell.platform.cast.errors
import spell.platform.ledger.errors
import spell.platform.ratelimit.errors
import spell.platform.spell.errors
from spell.errors import (
    AuthError,
    Conflict,
    Gone,
    InvalidInput,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    PermissionDenied,
    QuotaError,
    ServerUnreachable,
    SpellError,
    error_class,
)

__all__ = ["error_from_response", "unreachable"]

# The family of a status, for codes this version of the SDK does not know.
_FAMILIES: dict[int, type[SpellError]] = {
    401: AuthError,
    402: QuotaError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    410: Gone,
    413: PayloadTooLarge,
    422: InvalidInput,
    429: spell.platform.ratelimit.errors.RateLimited,
    503: Overloaded,
}


def _class_for(code: str, status: int) -> type[SpellError]:
    known = error_class(code)
    if known is not None:
        return known
    return _FAMILIES.get(status, SpellError)


def _retry_after(response: httpx.Response, body: dict[str, Any]) -> int | None:
    value = body.get("retry_after", response.headers.get("Retry-After"))
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def error_from_response(response: httpx.Response) -> SpellError:
    """The error a non-2xx answer carries: its class from the envelope's ``code``, with message,
    details, hint and ``retry_after`` (from the body or the ``Retry-After`` header)."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        error = {"code": "HTTP_ERROR", "message": f"HTTP {response.status_code}: {response.text[:200]}"}
    code = str(error.get("code") or "HTTP_ERROR")
    cls = _class_for(code, response.status_code)
    sent = error.get("details")
    details: dict[str, Any] = dict(sent) if isinstance(sent, dict) else {}
    if error.get("request_id"):
        details = {**details, "request_id": error["request_id"]}
    # Built without the class's own __init__: some leaves take domain objects the wire does not carry.
    exc = cls.__new__(cls)
    SpellError.__init__(
        exc,
        str(error.get("message") or code),
        details=details,
        hint=error.get("hint"),
        retry_after=_retry_after(response, error),
    )
    if exc.code != code:
        # A code the server added after this SDK: raised as its status family, keeping the code it
        # was sent with (on the instance, so no class is made that the catalog does not list).
        vars(exc)["code"] = code
    return exc


def unreachable(base_url: str, exc: httpx.TransportError) -> ServerUnreachable:
    """A failed connection, read or timeout as the one error the CLI prints in one line."""
    return ServerUnreachable(
        f"cannot reach {base_url}: {type(exc).__name__}: {exc or 'no answer'}",
        details={"server": base_url},
        hint="check the server URL (spell login --server URL) and that the server is running",
    )
