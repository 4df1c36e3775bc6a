"""Casts made without the ORM constructor read like any other and belong to no session."""

from __future__ import annotations

from sqlalchemy import inspect

from spell.kit.time import utcnow
from spell.platform.cast.repository import detached_cast
from spell.platform.cast.schemas import CastOut


def test_a_detached_cast_reads_its_values_and_renders_like_a_loaded_one() -> None:
    now = utcnow()
    cast = detached_cast(
        {
            "id": "cast_1",
            "tenant_id": "ten_1",
            "user_id": "usr_1",
            "spell_id": "acme/hello",
            "version": "1.0.0",
            "spell_digest": "sha256:x",
            "status": "succeeded",
            "input": {"name": "a"},
            "input_digest": "sha256:y",
            "output": {"greeting": "hello"},
            "created_at": now,
            "started_at": now,
            "finished_at": now,
        }
    )
    assert (cast.id, cast.status, cast.output) == ("cast_1", "succeeded", {"greeting": "hello"})
    assert inspect(cast).session is None
    rendered = CastOut.from_row(cast).model_dump(mode="json")
    assert rendered["id"] == "cast_1"
    assert rendered["output"] == {"greeting": "hello"}
