"""The SDK reads and sends the server's own wire schemas; what only a client needs stays small."""

from __future__ import annotations

from spell.client import models
from spell.models import TERMINAL_STATUSES
from spell.platform.cast import schemas as cast
from spell.platform.ledger import schemas as ledger
from spell.platform.spell import schemas as grimoire


def test_the_sdk_models_are_the_servers_schemas() -> None:
    assert models.CastOut is cast.CastOut
    assert models.SpellDetail is grimoire.SpellDetail
    assert models.UsageOut is ledger.UsageReport
    assert all(
        getattr(models, name).__module__.startswith("spell.platform.")
        for name in models.__all__
        if name not in {"TERMINAL_STATUSES", "CastEvent", "Deleted", "Paged", "VersionArchive", "ended"}
    )


def test_the_sdks_terminal_statuses_are_the_servers() -> None:
    assert {str(status) for status in TERMINAL_STATUSES} == models.TERMINAL_STATUSES


def test_a_cast_has_ended_only_in_a_terminal_status() -> None:
    row = {
        "id": "cast_1",
        "spell_id": "acme/hello",
        "version": "1.0.0",
        "spell_digest": "sha256:00",
        "button_id": None,
        "input_digest": "sha256:11",
        "output": None,
        "usage": None,
        "error": None,
        "retry_of": None,
        "retried_by": None,
        "created_at": "2026-12-06T00:00:00.000Z",
        "started_at": None,
        "finished_at": None,
        "idempotent_replay": False,
    }
    assert not models.ended(models.CastOut.model_validate({**row, "status": "running"}))
    assert models.ended(models.CastOut.model_validate({**row, "status": "aborted"}))
