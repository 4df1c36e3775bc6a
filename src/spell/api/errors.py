"""Every non-2xx response, framework ones included, is ``{"ok": false, "error": {…, "request_id"}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from spell.errors import SpellError
from spell.platform import metrics

__all__ = ["SpellErrorResponse", "error_response", "install_error_handlers"]

_log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


class SpellErrorResponse(StarletteHTTPException):
    """Carries a ``SpellError`` through framework code that lets only HTTP exceptions pass (body
    reading: FastAPI turns any other exception there into a bare 400); rendered as that error."""

    def __init__(self, error: SpellError) -> None:
        super().__init__(error.status_code, error.message)
        self.error = error


def error_response(
    request: Request, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    """Render the error envelope with the request id (and count it by its code)."""
    metrics.error(str(body["code"]))
    body = {**body, "request_id": getattr(request.state, "request_id", None)}
    return JSONResponse({"ok": False, "error": body}, status_code=status, headers=headers)


async def _spell_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SpellError)  # noqa: S101 - registered for SpellError only
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return error_response(request, exc.status_code, exc.to_dict(), headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    errors = [
        {"path": "/".join(str(p) for p in e.get("loc", ())), "message": str(e.get("msg", ""))}
        for e in exc.errors()[:20]
    ]
    body: dict[str, Any] = {
        "code": "VALIDATION_ERROR",
        "message": "the request is malformed",
        "details": {"errors": errors},
    }
    content_type = request.headers.get("content-type", "")
    if request.method in ("POST", "PUT", "PATCH") and "json" not in content_type.lower():
        # The usual cause: `curl -d` sends form encoding, so the JSON body is never parsed.
        body["hint"] = "send the body as JSON with the header Content-Type: application/json"
    return error_response(request, 422, body)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    if isinstance(exc, SpellErrorResponse):
        return await _spell_error(request, exc.error)
    code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
    body = {"code": code, "message": str(exc.detail)}
    return error_response(request, exc.status_code, body, dict(exc.headers or {}))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    _log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(request, 500, {"code": "INTERNAL", "message": "internal error"})


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(SpellError, _spell_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
