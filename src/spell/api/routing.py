"""The route class of every router: request bodies are parsed as strict JSON.

FastAPI reads a JSON body with ``Request.json()`` (the standard library's lenient parser). Routes of
this app use ``GuardedRoute``, whose requests parse with ``spell.kit.json_input`` instead, so a body
with ``NaN``, a lone surrogate, NUL, an integer past ±(2^53 - 1) or deep nesting is refused with 422
``VALIDATION_ERROR`` before any route or service sees it. So is a path or query with NUL, which
PostgreSQL cannot compare with stored text (SQLite can: the two would answer differently).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from spell.api.errors import SpellErrorResponse
from spell.errors import InvalidInput
from spell.kit import json_input

__all__ = ["GuardedRoute", "StrictJsonRequest", "refuse_nul_in_url"]


class StrictJsonRequest(Request):
    """A request whose ``json()`` accepts only strict JSON (``spell.kit.json_input``)."""

    async def json(self) -> Any:
        """The body parsed as strict JSON; 422 ``VALIDATION_ERROR`` naming the place otherwise."""
        if not hasattr(self, "_json"):
            raw = await self.body()
            try:
                self._json = json_input.loads(raw)
            except json_input.JsonInputError as exc:
                # FastAPI lets only HTTP exceptions through its body parsing; this one renders as the error.
                raise SpellErrorResponse(
                    InvalidInput(
                        "the request body is not acceptable JSON",
                        details={"errors": [{"path": "body" + exc.pointer, "message": exc.message}]},
                    )
                ) from None
        return self._json


class GuardedRoute(APIRoute):
    """An ``APIRoute`` whose handler reads the body through ``StrictJsonRequest``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The default handler, given a ``StrictJsonRequest`` over the same connection."""
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            refuse_nul_in_url(request.scope)
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return guarded


def refuse_nul_in_url(scope: Any) -> None:
    """422 ``VALIDATION_ERROR`` for a path or query with NUL."""
    query = scope["query_string"]
    if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
        raise InvalidInput(
            "the URL contains a NUL character",
            details={"errors": [{"path": "url", "message": "NUL (%00) is not allowed"}]},
        )
