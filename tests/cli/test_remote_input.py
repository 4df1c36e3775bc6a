"""The input a remote cast sends: any JSON document from --input (or stdin), -p on an object."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from spell.cli.commands._remote_cast import cast_input, raise_for_cast
from spell.client.models import CastError, CastOut
from spell.errors import InvalidInput, RuntimeFailure, Timeout


def test_params_alone_build_an_object() -> None:
    assert cast_input(("name=world", "opts.count=3"), None) == {"name": "world", "opts": {"count": 3}}


def test_the_document_may_be_any_json_value(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_text('"w:a.txt"', encoding="utf-8")
    assert cast_input((), path) == "w:a.txt"


def test_params_go_on_top_of_an_object_document(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_text('{"name": "x", "keep": true}', encoding="utf-8")
    assert cast_input(("name=y",), path) == {"name": "y", "keep": True}


def test_params_on_a_document_that_is_not_an_object_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_text("[1]", encoding="utf-8")
    with pytest.raises(InvalidInput):
        cast_input(("a=1",), path)


def test_a_document_that_is_not_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_text("{nope", encoding="utf-8")
    with pytest.raises(InvalidInput):
        cast_input((), path)
    with pytest.raises(InvalidInput):
        cast_input((), tmp_path / "missing.json")


def test_a_dash_reads_the_document_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"a": 1}')))
    assert cast_input(("b=2",), Path("-")) == {"a": 1, "b": 2}


def _ended(status: str, code: str | None) -> CastOut:
    return CastOut(
        id="cast_1",
        spell_id="acme/x",
        version="1.0.0",
        spell_digest="sha256:0",
        button_id=None,
        status=status,
        input_digest="sha256:0",
        output=None,
        usage=None,
        error=CastError(code=code, message="it broke") if code else None,
        retry_of=None,
        retried_by=None,
        created_at="2026-01-01T00:00:00Z",
        started_at=None,
        finished_at=None,
        idempotent_replay=False,
    )


def test_a_cast_that_did_not_succeed_raises_the_class_of_its_code() -> None:
    raise_for_cast(_ended("succeeded", None))
    with pytest.raises(Timeout) as timed_out:
        raise_for_cast(_ended("timeout", "TIMEOUT"))
    assert timed_out.value.details == {"cast_id": "cast_1", "status": "timeout", "code": "TIMEOUT"}
    with pytest.raises(RuntimeFailure) as canceled:
        raise_for_cast(_ended("canceled", None))
    assert canceled.value.code == "CANCELED"
