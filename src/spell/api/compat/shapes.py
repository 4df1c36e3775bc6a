"""spell-runtime's JSON shapes of an execution, its receipt and a button, read off our rows.

Statuses: ours are spell-runtime's six plus ``aborted`` (the server stopped under a running cast),
which spell-runtime reports as ``failed`` with ``SERVER_RESTARTED``. A cast's own error code maps onto
spell-runtime's runtime codes; ``spell_error_code`` keeps ours beside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spell.kit.time import to_rfc3339, to_rfc3339_or_none
from spell.models import ROLES

if TYPE_CHECKING:
    from spell.models import Button, Cast

__all__ = [
    "RUNTIME_STATUSES",
    "TERMINAL",
    "button_shape",
    "execution_summary",
    "receipt",
    "runtime_status",
]

RUNTIME_STATUSES = ("queued", "running", "succeeded", "failed", "timeout", "canceled")
TERMINAL = frozenset({"succeeded", "failed", "timeout", "canceled"})

# Our cast error codes that spell-runtime names differently; any other failure is EXECUTION_FAILED.
_FAILURE_CODES = {
    "STEP_TIMEOUT": "STEP_TIMEOUT",
    "COMPENSATION_INCOMPLETE": "COMPENSATION_INCOMPLETE",
    "CONNECTOR_TOKEN_MISSING": "CONNECTOR_TOKEN_MISSING",
    "PLATFORM_MISMATCH": "PLATFORM_UNSUPPORTED",
    "SIGNATURE_MISSING": "SIGNATURE_REQUIRED",
    "VALIDATION_ERROR": "INPUT_SCHEMA_INVALID",
    "PAYLOAD_TOO_LARGE": "INPUT_TOO_LARGE",
}


def runtime_status(cast: Cast) -> str:
    """The cast's status in spell-runtime's six."""
    return "failed" if cast.status == "aborted" else cast.status


def _error(cast: Cast) -> tuple[str | None, str | None]:
    """spell-runtime's ``error_code`` and ``message`` of a cast."""
    status = cast.status
    if status == "succeeded":
        return None, "completed"
    if status == "canceled":
        return "EXECUTION_CANCELED", cast.error_message or "execution canceled by request"
    if status == "aborted":
        return "SERVER_RESTARTED", cast.error_message or "execution interrupted by server restart"
    if status == "timeout":
        code = "STEP_TIMEOUT" if cast.error_code == "STEP_TIMEOUT" else "EXECUTION_TIMEOUT"
        return code, cast.error_message
    if status == "failed":
        return _FAILURE_CODES.get(cast.error_code or "", "EXECUTION_FAILED"), cast.error_message
    return None, None


def execution_summary(cast: Cast, button: Button | None) -> dict[str, Any]:
    """spell-runtime's ``summarizeJob``: what lists, details and the event stream show of a cast.

    Absent values are left out, as spell-runtime's JSON leaves out its undefined fields.
    """
    code, message = _error(cast)
    out: dict[str, Any] = {
        "execution_id": cast.id,
        "button_id": cast.button_id,
        "spell_id": cast.spell_id,
        "version": cast.version,
        "require_signature": button.require_signature if button is not None else None,
        "status": runtime_status(cast),
        "tenant_id": cast.tenant_id,
        "created_at": to_rfc3339(cast.created_at),
        "started_at": to_rfc3339_or_none(cast.started_at),
        "finished_at": to_rfc3339_or_none(cast.finished_at),
        "error_code": code,
        "message": message,
        "spell_error_code": cast.error_code,
        "retry_of": cast.retry_of,
        "retried_by": cast.retried_by,
    }
    return {key: value for key, value in out.items() if value is not None}


def receipt(cast: Cast) -> dict[str, Any] | None:
    """The receipt of an ended cast (None before it ends): what ran, how it ended, what it used."""
    if runtime_status(cast) not in TERMINAL:
        return None
    code, message = _error(cast)
    return {
        "execution_id": cast.id,
        "id": cast.spell_id,
        "version": cast.version,
        "spell_digest": cast.spell_digest,
        "started_at": to_rfc3339_or_none(cast.started_at),
        "finished_at": to_rfc3339_or_none(cast.finished_at),
        "success": cast.status == "succeeded",
        "error": message if code else None,
        "usage": cast.usage,
        "tenant_id": cast.tenant_id,
    }


def button_shape(button: Button) -> dict[str, Any]:
    """One entry of ``GET /api/buttons``."""
    return {
        "button_id": button.id,
        "label": button.label or button.id,
        "description": "",
        "spell_id": button.spell_id,
        "version": button.version,
        "defaults": {},
        "required_confirmations": {"risk": button.require_confirmation, "billing": False},
        "require_signature": button.require_signature,
        # Ours: no roles listed means every role may press; spell-runtime lists the roles that may.
        "allowed_roles": list(button.allowed_roles) or list(ROLES),
        "allowed_tenants": list(button.allowed_tenants) or None,
    }
