"""spell-runtime's execution API: press a button, read, cancel and retry executions, read an output,
list the buttons — each a call of the services behind ``/v1/buttons`` and ``/v1/casts``."""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from spell.api.compat.access import CallerPrincipal, CastingCaller, actor_role
from spell.api.compat.errors import ApiError, CompatRoute
from spell.api.compat.shapes import TERMINAL, button_shape, execution_summary, receipt, runtime_status
from spell.api.deps import CurrentPlatform, blocking
from spell.errors import InvalidInput, OutputNotFound
from spell.kit.jsonpath import MISSING, get_path
from spell.models import Button, Cast
from spell.platform.auth.schemas import Principal
from spell.platform.cast.service import CastRequestBody, check_idempotency_key
from spell.platform.server import Platform
from spell.runtimes.host.outputs import resolve_output

__all__ = ["router"]

router = APIRouter(route_class=CompatRoute, include_in_schema=False)

_EXECUTION_ID = re.compile(r"^[a-zA-Z0-9_.-]+$")


class Confirmation(BaseModel):
    """The caller's acknowledgements; a button that needs confirmation needs ``risk_acknowledged``."""

    risk_acknowledged: bool = Field(default=False, strict=True)
    billing_acknowledged: bool = Field(default=False, strict=True)


class ExecutionCreate(BaseModel):
    """spell-runtime's request body. ``actor_role`` and ``tenant_id`` are accepted and ignored: the
    credential decides both, as with spell-runtime's role-bound keys."""

    model_config = ConfigDict(extra="forbid")

    button_id: str = Field(min_length=1, max_length=201)
    dry_run: bool = Field(default=False, strict=True)
    input: dict[str, Any] = Field(default_factory=dict)
    confirmation: Confirmation | None = None
    actor_role: str | None = Field(default=None, min_length=1, max_length=64)
    tenant: Any = None
    tenant_id: Any = None


def check_execution_id(execution_id: str) -> None:
    """spell-runtime's check of an id in the path (400 ``INVALID_EXECUTION_ID``)."""
    if not _EXECUTION_ID.fullmatch(execution_id):
        raise ApiError(400, "INVALID_EXECUTION_ID", "invalid execution id")


def idempotency_key_or_new(raw: str | None) -> str:
    """spell-runtime's key is optional: without one, each request is a new execution."""
    if raw is None:
        return "compat_" + secrets.token_hex(16)
    try:
        return check_idempotency_key(raw.strip())
    except InvalidInput:
        raise ApiError(
            400,
            "BAD_REQUEST",
            "invalid Idempotency-Key header: expected printable ASCII, trimmed length 1..128",
        ) from None


def buttons_by_id(platform: Platform, principal: Principal) -> dict[str, Button]:
    """The buttons the caller sees, by id (its own tenant's first where ids collide)."""
    with platform.db.unit_of_work(write=False) as uow:
        visible = platform.buttons.visible(uow, principal)
    found: dict[str, Button] = {}
    for button in sorted(visible, key=lambda b: b.tenant_id == principal.tenant_id):
        found[button.id] = button
    return found


def summary(platform: Platform, principal: Principal, cast: Cast) -> dict[str, Any]:
    """``{ok, execution, receipt}`` of one cast."""
    button = buttons_by_id(platform, principal).get(cast.button_id or "")
    return {"ok": True, "execution": execution_summary(cast, button), "receipt": receipt(cast)}


def _press(platform: Platform, principal: Principal, body: ExecutionCreate) -> CastRequestBody:
    confirmed = body.confirmation is not None and body.confirmation.risk_acknowledged
    with platform.db.unit_of_work(write=False) as uow:
        return platform.buttons.press(uow, principal, body.button_id, input=body.input, confirmed=confirmed)


@router.post("/api/spell-executions", status_code=202)
async def create_execution(
    body: ExecutionCreate,
    principal: CastingCaller,
    platform: CurrentPlatform,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Press a button: 202 ``{ok, execution_id, tenant_id, status}`` (``idempotent_replay`` on a
    replay of the same ``Idempotency-Key`` and request)."""
    key = idempotency_key_or_new(idempotency_key)
    if body.dry_run:
        raise ApiError(400, "BAD_REQUEST", "dry_run is not supported: use POST /api/spell/estimate")
    request = await blocking(_press, platform, principal, body)
    cast, replay = await platform.orchestrator.cast(principal, request, key)
    button = await blocking(buttons_by_id, platform, principal)
    allowed = button[body.button_id].allowed_roles if body.button_id in button else []
    answer: dict[str, Any] = {
        "ok": True,
        "execution_id": cast.id,
        "tenant_id": cast.tenant_id,
        "status": runtime_status(cast),
        "actor_role": actor_role(principal, allowed),
    }
    if replay:
        answer["idempotent_replay"] = True
    return JSONResponse(answer, status_code=202, headers={"Location": f"/api/spell-executions/{cast.id}"})


@router.get("/api/spell-executions/{execution_id}")
def get_execution(execution_id: str, principal: CallerPrincipal, platform: CurrentPlatform) -> dict[str, Any]:
    """One execution and, once it ended, its receipt: ``{ok, execution, receipt}``."""
    check_execution_id(execution_id)
    return summary(platform, principal, platform.casts.get(principal, execution_id))


@router.post("/api/spell-executions/{execution_id}/cancel")
def cancel_execution(
    execution_id: str, principal: CallerPrincipal, platform: CurrentPlatform
) -> dict[str, Any]:
    """Cancel a queued or running execution; 409 ``ALREADY_TERMINAL`` once it ended."""
    check_execution_id(execution_id)
    cast = platform.casts.cancel(principal, execution_id)
    return {"ok": True, "execution_id": cast.id, "tenant_id": cast.tenant_id, "status": runtime_status(cast)}


@router.post("/api/spell-executions/{execution_id}/retry", status_code=202)
def retry_execution(execution_id: str, principal: CastingCaller, platform: CurrentPlatform) -> dict[str, Any]:
    """A new execution of a failed, timed-out or canceled one, linked by ``retry_of`` / ``retried_by``;
    409 ``NOT_RETRYABLE`` otherwise."""
    check_execution_id(execution_id)
    cast = platform.casts.retry(principal, execution_id)
    return {
        "ok": True,
        "execution_id": cast.id,
        "tenant_id": cast.tenant_id,
        "status": runtime_status(cast),
        "retry_of": cast.retry_of,
    }


@router.get("/api/spell-executions/{execution_id}/output")
def execution_output(
    execution_id: str, principal: CallerPrincipal, platform: CurrentPlatform, path: str = ""
) -> dict[str, Any]:
    """One output of an ended execution: ``?path=step.<name>.stdout|json[.dot.path]`` (a host spell's
    step outputs) or ``?path=output[.dot.path]`` (any spell's output JSON)."""
    check_execution_id(execution_id)
    ref = path.strip()
    if not ref:
        raise ApiError(400, "INVALID_QUERY", "path query is required")
    cast = platform.casts.get(principal, execution_id)
    if runtime_status(cast) not in TERMINAL:
        raise ApiError(409, "EXECUTION_NOT_READY", "execution has not ended yet")
    return {"ok": True, "execution_id": cast.id, "path": ref, "value": _output_value(cast.output, ref)}


def _output_value(output: Any, ref: str) -> Any:
    if ref == "output" or ref.startswith("output."):
        found = get_path(output, ref.removeprefix("output").removeprefix("."))
        if output is None or found is MISSING:
            raise ApiError(404, "OUTPUT_NOT_FOUND", f"output value not found: {ref}")
        return found
    if not isinstance(output, dict):
        raise ApiError(404, "OUTPUT_NOT_FOUND", "execution log has no outputs")
    try:
        return resolve_output(output, ref)
    except OutputNotFound as exc:
        raise ApiError(404, "OUTPUT_NOT_FOUND", exc.message) from None
    except InvalidInput as exc:
        raise ApiError(400, "INVALID_OUTPUT_PATH", exc.message) from None


@router.get("/api/buttons")
def list_buttons(principal: CallerPrincipal, platform: CurrentPlatform) -> dict[str, Any]:
    """The buttons the caller may see, in spell-runtime's registry shape."""
    with platform.db.unit_of_work(write=False) as uow:
        buttons = platform.buttons.visible(uow, principal)
    return {"ok": True, "version": "v1", "buttons": [button_shape(b) for b in buttons]}
