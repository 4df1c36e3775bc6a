"""Casting: create (idempotent, ``Prefer: wait``), read, list, SSE events, cancel, retry, artifacts."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from spell.api.deps import (
    CastCall,
    CastingCall,
    CastingPrincipal,
    CurrentPlatform,
    CurrentPrincipal,
    bearer_credentials,
    blocking,
    get_cast_call,
)
from spell.api.routing import GuardedRoute, StrictJsonRequest, refuse_nul_in_url
from spell.api.schemas import error_docs
from spell.api.sse import cast_event_stream
from spell.errors import InvalidInput
from spell.models import TERMINAL_STATUSES, Cast
from spell.platform.artifact.schemas import ArtifactList, ArtifactOut
from spell.platform.cast.schemas import CastList, CastOut
from spell.platform.cast.service import CastRequestBody

CAST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": CastOut,
        "description": "The cast ended within the Prefer: wait time (or a replay of one).",
    },
    202: {"model": CastOut, "description": "The cast is queued or running; follow Location."},
    **error_docs(
        {
            402: "BUDGET_CAP_EXCEEDED, INSUFFICIENT_CREDITS",
            503: "OVERLOADED: the queue or the rate limiter is unavailable (with Retry-After)",
        }
    ),
}

# The headers a cast-starting route reads (``CastingCall`` reads them itself). The key is checked by
# the cast service (which says how to fix a missing one), so it is documented as required.
IDEMPOTENCY_KEY_DOC: dict[str, Any] = {
    "parameters": [
        {
            "name": "prefer",
            "in": "header",
            "required": False,
            "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Prefer"},
        },
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": True,
            "description": "A unique key per intended cast: the same key and request replay the same cast.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[ -~]+$"},
        },
    ]
}

router = APIRouter(route_class=GuardedRoute, tags=["casts"])

_PREFER_WAIT = re.compile(r"(?:^|[;,\s])wait=(\d+)")


class CastCreate(BaseModel):
    """The input for the spell, an optional exact version and a webhook URL."""

    input: Any = Field(default_factory=dict)
    version: str | None = Field(default=None, max_length=50)
    webhook_url: str | None = Field(default=None, max_length=2000)


def prefer_wait(header: str | None, maximum: int) -> int:
    """Seconds from ``Prefer: wait=N`` (0 when absent), capped at ``maximum``."""
    match = _PREFER_WAIT.search(header or "")
    return min(int(match.group(1)), maximum) if match else 0


def cast_response(cast: Cast, replay: bool) -> Response:
    """A created (or replayed) cast: 200 when it ended, else 202; ``Location`` names it either way."""
    # pydantic writes the JSON itself: no dict of the model in between, no second encoder
    body = CastOut.from_row(cast, replay=replay).model_dump_json().encode()
    status = 200 if cast.status in TERMINAL_STATUSES else 202
    return Response(
        body, status_code=status, headers={"Location": f"/v1/casts/{cast.id}"}, media_type="application/json"
    )


async def cast_spell(spell_id: str, body: CastCreate, call: CastingCall) -> Response:
    """Cast a spell. ``Idempotency-Key`` is required; ``Prefer: wait=N`` (N ≤ 60) answers 200 with the
    finished cast when it ends in time, else 202 with the queued one."""
    request = CastRequestBody(
        spell_id=spell_id, input=body.input, version=body.version, webhook_url=body.webhook_url
    )
    return await start_cast(call, request)


class CastRoute(GuardedRoute):
    """The cast routes: the busiest request of the API, answered without FastAPI's generic handler
    when it is the usual one.

    That handler reads the body, then solves the route's dependencies one by one (the cast call, its
    bearer scheme) and validates the body, all through generic machinery that cost each cast more
    than the route's own reading of its request. A request with a JSON body (``Content-Type:
    application/json``) that ``CastCreate`` accepts gets the same steps written out here: the URL's
    NUL check, the strict JSON read, then ``get_cast_call`` (authentication, rate limits, headers) and
    the route. Any other request — no or another content type, a body that is not strict JSON or not
    a valid ``CastCreate`` — goes to FastAPI's handler over the same request (its body already read),
    so its errors, and their order (authentication before body validation), are FastAPI's own. The
    route's declaration, and so the OpenAPI document, is unchanged."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The usual cast written out; FastAPI's handler (``APIRoute``'s) for every other request."""
        generic = APIRoute.get_route_handler(self)

        async def handler(request: Request) -> Response:
            scope = request.scope
            refuse_nul_in_url(scope)
            strict = StrictJsonRequest(scope, request.receive)
            body = await _usual_body(strict)
            if body is None:
                return await generic(strict)
            call = await get_cast_call(strict, await bearer_credentials(strict))
            return await cast_spell(scope["path_params"]["spell_id"], body, call)

        return handler


async def _usual_body(request: StrictJsonRequest) -> CastCreate | None:
    """The body as ``CastCreate`` when it is JSON that the model accepts; else None (read, not judged)."""
    content_type = request.headers.get("content-type", "")
    if content_type.partition(";")[0].strip().lower() != "application/json":
        return None
    try:
        if not await request.body():
            return None
        return CastCreate.model_validate(await request.json())
    except StarletteHTTPException:
        raise  # the body limit's 413 or strict JSON's 422: FastAPI's handler lets them through as well
    except Exception:  # a body FastAPI turns into its own error (invalid JSON, a model's refusal, …)
        return None


# ``:cast`` first, as the decorators once registered them (the OpenAPI document keeps its order).
router.add_api_route(
    "/v1/spells/{spell_id:path}:cast",
    cast_spell,
    methods=["POST"],
    status_code=202,
    responses=CAST_RESPONSES,
    openapi_extra=IDEMPOTENCY_KEY_DOC,
    summary="Cast a spell (the custom-method form of the same route)",
    operation_id="cast_spell_custom_method",
    route_class_override=CastRoute,
)
router.add_api_route(
    "/v1/spells/{spell_id:path}/cast",
    cast_spell,
    methods=["POST"],
    status_code=202,
    responses=CAST_RESPONSES,
    openapi_extra=IDEMPOTENCY_KEY_DOC,
    route_class_override=CastRoute,
)


async def start_cast(call: CastCall, request: CastRequestBody) -> Response:
    """Create (or replay) a cast, waiting up to ``Prefer: wait`` for its end (``CastOrchestrator``)."""
    wait = prefer_wait(call.prefer, call.platform.settings.max_wait_seconds)
    orchestrator = call.platform.orchestrator
    cast, replay = await orchestrator.cast(call.principal, request, call.idempotency_key, wait_s=wait)
    return cast_response(cast, replay)


@router.get("/v1/casts", response_model=CastList)
def list_casts(
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    status: str | None = None,
    spell_id: str | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> CastList:
    """Your tenant's casts, newest first."""
    rows, next_cursor = platform.casts.list_casts(
        principal, status=status, spell_id=spell_id, limit=limit, cursor=cursor
    )
    return CastList(items=[CastOut.from_row(r) for r in rows], next_cursor=next_cursor)


@router.get("/v1/casts/{cast_id}", response_model=CastOut)
async def get_cast(
    cast_id: str, principal: CurrentPrincipal, platform: CurrentPlatform, wait: int = 0
) -> Response:
    """One cast; ``?wait=N`` long-polls up to N seconds (≤ 60) for it to end."""
    # Async: the long poll waits on the event loop, and the read hops to the threadpool at most once.
    if wait < 0:
        raise InvalidInput("wait must be 0 or more seconds")
    seconds = min(wait, platform.settings.max_wait_seconds)
    cast = await platform.orchestrator.wait_for_end(principal, cast_id, seconds)
    # pydantic writes the JSON itself, as for a created cast: the response model is for the docs only
    return Response(CastOut.from_row(cast).model_dump_json().encode(), media_type="application/json")


@router.post("/v1/casts/{cast_id}/cancel", response_model=CastOut)
def cancel_cast(cast_id: str, principal: CurrentPrincipal, platform: CurrentPlatform) -> CastOut:
    """Cancel a queued or running cast at once; 409 ``ALREADY_TERMINAL`` when it already ended."""
    return CastOut.from_row(platform.casts.cancel(principal, cast_id))


@router.post(
    "/v1/casts/{cast_id}/retry",
    status_code=202,
    response_model=CastOut,
    responses=error_docs({402: "BUDGET_CAP_EXCEEDED, INSUFFICIENT_CREDITS"}),
)
def retry_cast(cast_id: str, principal: CastingPrincipal, platform: CurrentPlatform) -> CastOut:
    """A new cast of the same request, linked by ``retry_of``; 409 ``NOT_RETRYABLE`` otherwise."""
    return CastOut.from_row(platform.casts.retry(principal, cast_id))


@router.get("/v1/casts/{cast_id}/artifacts", response_model=ArtifactList)
def list_artifacts(cast_id: str, principal: CurrentPrincipal, platform: CurrentPlatform) -> ArtifactList:
    """The files a cast produced, each with a short-lived signed download URL."""
    with platform.db.unit_of_work(write=False) as uow:
        signed = platform.artifacts.signed_for_cast(uow, principal, cast_id)
        return ArtifactList(items=[ArtifactOut.from_signed(item) for item in signed])


def _last_event_id(raw: str | None) -> int:
    if raw is None or raw == "":
        return 0
    if not raw.isdigit() or len(raw) > 12:
        raise InvalidInput(
            "Last-Event-ID must be an event id this stream sent", details={"last_event_id": raw}
        )
    return int(raw)


@router.get(
    "/v1/casts/{cast_id}/events",
    response_class=StreamingResponse,
    responses={200: {"description": "Server-sent events", "content": {"text/event-stream": {}}}},
)
async def cast_events(
    cast_id: str,
    request: Request,
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    last_event_id: str | None = Header(default=None),
) -> StreamingResponse:
    """Server-sent events of a cast: ``id`` per event, ``Last-Event-ID`` resumes, heartbeats, and the
    stream closes after the terminal event."""
    after = _last_event_id(last_event_id)
    await blocking(platform.casts.get, principal, cast_id)  # 404 before the stream starts

    stream = cast_event_stream(request, platform, principal, cast_id, after)
    return StreamingResponse(stream, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
