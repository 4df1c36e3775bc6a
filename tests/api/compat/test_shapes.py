"""How a cast reads in spell-runtime's words: statuses, error codes, receipts, buttons."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from spell.api.compat.errors import translate
from spell.api.compat.shapes import button_shape, execution_summary, receipt
from spell.errors import CastNotFound, InvalidInput, PermissionDenied, SpellNotFound
from spell.models import Button, Cast

_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _cast(status: str, error_code: str | None = None) -> Cast:
    return Cast(
        id="cast_1",
        tenant_id="ten_1",
        spell_id="acme/hello",
        version="1.0.0",
        spell_digest="sha256:00",
        button_id=None,
        status=status,
        error_code=error_code,
        error_message="went wrong" if error_code else None,
        usage=None,
        retry_of=None,
        retried_by=None,
        created_at=_AT,
        started_at=_AT,
        finished_at=_AT,
    )


@pytest.mark.parametrize(
    ("status", "ours", "shown", "code"),
    [
        ("aborted", "ABORTED", "failed", "SERVER_RESTARTED"),
        ("failed", "TRAP", "failed", "EXECUTION_FAILED"),
        ("failed", "VALIDATION_ERROR", "failed", "INPUT_SCHEMA_INVALID"),
        ("failed", "PLATFORM_MISMATCH", "failed", "PLATFORM_UNSUPPORTED"),
        ("timeout", "TIMEOUT", "timeout", "EXECUTION_TIMEOUT"),
        ("timeout", "STEP_TIMEOUT", "timeout", "STEP_TIMEOUT"),
        ("canceled", "CANCELED", "canceled", "EXECUTION_CANCELED"),
    ],
)
def test_ended_casts_read_as_spell_runtime_statuses_and_codes(
    status: str, ours: str, shown: str, code: str
) -> None:
    summary = execution_summary(_cast(status, ours), None)
    assert summary["status"] == shown
    assert summary["error_code"] == code
    assert summary["spell_error_code"] == ours
    assert "require_signature" not in summary  # no button to tell: left out, as undefined is
    shown_receipt = receipt(_cast(status, ours))
    assert shown_receipt is not None
    assert shown_receipt["success"] is False


def test_a_running_cast_has_no_receipt_and_no_end() -> None:
    cast = _cast("running")
    cast.finished_at = None
    assert receipt(cast) is None
    assert "finished_at" not in execution_summary(cast, None)


def test_a_button_that_lists_no_roles_shows_every_role() -> None:
    button = Button(
        id="b",
        tenant_id="ten_1",
        spell_id="acme/hello",
        version="1.0.0",
        label="",
        allowed_roles=[],
        allowed_tenants=[],
        require_signature=False,
        require_confirmation=True,
        created_at=_AT,
    )
    shown = button_shape(button)
    assert shown["allowed_roles"] == ["maker", "caster", "operator", "auditor", "admin"]
    assert shown["allowed_tenants"] is None
    assert shown["label"] == "b"
    assert shown["required_confirmations"] == {"risk": True, "billing": False}


def test_catalog_codes_translate_through_one_table() -> None:
    assert translate(CastNotFound("x")) == ("EXECUTION_NOT_FOUND", 404)
    assert translate(InvalidInput("x")) == ("BAD_REQUEST", 400)
    assert translate(PermissionDenied("x", details={"allowed_roles": ["admin"]})) == ("ROLE_NOT_ALLOWED", 403)
    assert translate(PermissionDenied("x", details={"required_scope": "cast:invoke"})) == ("FORBIDDEN", 403)
    assert translate(SpellNotFound("x")) == ("SPELL_NOT_FOUND", 404)
