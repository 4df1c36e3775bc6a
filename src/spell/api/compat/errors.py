"""Errors on ``/api`` routes in spell-runtime's shape: ``{"ok": false, "error_code", "message"}``.

Services raise the one catalog (``spell.errors``); ``translate`` maps a catalog code onto
spell-runtime's code and status in one table, and ``CompatRoute`` renders every failure of a route
— authentication, body parsing and validation included — that way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from spell.api.errors import SpellErrorResponse
from spell.api.routing import GuardedRoute
from spell.errors import SpellError
from spell.platform import metrics

__all__ = ["ApiError", "CompatRoute", "compat_error", "translate", "unknown_route"]

_log = logging.getLogger(__name__)

#: Catalog code → (spell-runtime ``error_code``, HTTP status). Codes not listed keep their own
#: code and status (spell-runtime has no counterpart: budgets, spells, versions…).
CODE_TABLE: dict[str, tuple[str, int]] = {
    "UNAUTHORIZED": ("AUTH_INVALID", 401),
    "CAST_NOT_FOUND": ("EXECUTION_NOT_FOUND", 404),
    "BUTTON_NOT_FOUND": ("BUTTON_NOT_FOUND", 404),
    "CONFIRMATION_REQUIRED": ("RISK_CONFIRMATION_REQUIRED", 400),
    "VALIDATION_ERROR": ("BAD_REQUEST", 400),
    "PAYLOAD_TOO_LARGE": ("INPUT_TOO_LARGE", 413),
    "SIGNATURE_MISSING": ("SIGNATURE_REQUIRED", 422),
    "INTERNAL": ("INTERNAL_ERROR", 500),
}
# A button's role check is the one FORBIDDEN that names the roles a press needs.
_ROLE_DENIED = ("ROLE_NOT_ALLOWED", 403)


class ApiError(Exception):
    """A refusal in spell-runtime's own vocabulary (``INVALID_QUERY``, ``AUTH_REQUIRED``…), for checks
    spell-runtime makes before any service is asked; rendered as it is."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def translate(error: SpellError) -> tuple[str, int]:
    """spell-runtime's ``error_code`` and the status for a catalog error."""
    if error.code == "FORBIDDEN" and "allowed_roles" in (error.details or {}):
        return _ROLE_DENIED
    return CODE_TABLE.get(error.code, (error.code, error.status_code))


def compat_error(
    request: Request, status: int, code: str, message: str, *, retry_after: int | None = None
) -> JSONResponse:
    """The error body, with the request id and (for 429/503) ``Retry-After``."""
    metrics.error(code)
    body: dict[str, Any] = {
        "ok": False,
        "error_code": code,
        "message": message,
        "request_id": getattr(request.state, "request_id", None),
    }
    headers = None
    if retry_after is not None:
        body["retry_after"] = retry_after
        headers = {"Retry-After": str(retry_after)}
    return JSONResponse(body, status_code=status, headers=headers)


def _spell_error(request: Request, error: SpellError) -> JSONResponse:
    code, status = translate(error)
    return compat_error(request, status, code, error.message, retry_after=error.retry_after)


def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
    first = error.errors()[0] if error.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    message = str(first.get("msg", "the request is malformed"))
    return compat_error(request, 400, "BAD_REQUEST", f"{where}: {message}" if where else message)


class CompatRoute(GuardedRoute):
    """A ``GuardedRoute`` whose failures answer in spell-runtime's shape instead of the /v1 envelope."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The guarded handler, its errors rendered here."""
        handler = super().get_route_handler()

        async def compat(request: Request) -> Response:
            try:
                return await handler(request)
            except ApiError as exc:
                return compat_error(request, exc.status, exc.code, exc.message)
            except SpellErrorResponse as exc:
                return _spell_error(request, exc.error)
            except SpellError as exc:
                return _spell_error(request, exc)
            except RequestValidationError as exc:
                return _validation(request, exc)
            except StarletteHTTPException as exc:
                return compat_error(request, exc.status_code, "BAD_REQUEST", str(exc.detail))
            except Exception:  # the edge: an unexpected fault still answers in the client's shape
                _log.exception("unhandled error on %s %s", request.method, request.url.path)
                return compat_error(request, 500, "INTERNAL_ERROR", "internal error")

        return compat


async def unknown_route(rest: str) -> Response:
    """Any other path under ``/api``: spell-runtime's ``404 NOT_FOUND``."""
    raise ApiError(404, "NOT_FOUND", "route not found")
