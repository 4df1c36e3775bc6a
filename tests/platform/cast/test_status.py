"""Cast statuses: one enum whose values are the wire strings, and no status spelled out elsewhere."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from spell.models import RETRYABLE_STATUSES, TERMINAL_STATUSES, CastStatus
from spell.platform.cast.runner import status_for
from spell.runtimes.base import Outcome

SRC = Path(__file__).resolve().parents[3] / "src" / "spell"
WIRE = ["queued", "running", "succeeded", "failed", "timeout", "canceled", "aborted"]
# Modules that read or write cast statuses; every status in them comes from ``CastStatus``.
STATUS_USERS = [
    *sorted((SRC / "platform" / "cast").glob("*.py")),
    SRC / "platform" / "server.py",
    SRC / "api" / "routes" / "casts.py",
    SRC / "cli" / "commands" / "serve.py",
]


def test_cast_status_values_are_the_wire_strings_in_lifecycle_order() -> None:
    assert [status.value for status in CastStatus] == WIRE
    assert all(status == value for status, value in zip(CastStatus, WIRE, strict=True))
    assert json.dumps({"status": CastStatus.ABORTED}) == '{"status": "aborted"}'
    assert f"cast.{CastStatus.SUCCEEDED}" == "cast.succeeded"


def test_terminal_and_retryable_sets_match_plain_strings() -> None:
    assert set(TERMINAL_STATUSES) == {"succeeded", "failed", "timeout", "canceled", "aborted"}
    assert set(RETRYABLE_STATUSES) == {"failed", "timeout", "canceled", "aborted"}
    # Rows hold plain strings: membership must hold for them as for the members.
    assert "canceled" in TERMINAL_STATUSES
    assert "running" not in TERMINAL_STATUSES
    assert "succeeded" not in RETRYABLE_STATUSES


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (Outcome.SUCCEEDED, "succeeded"),
        (Outcome.TIMEOUT, "timeout"),
        (Outcome.CANCELED, "canceled"),
        (Outcome.FAILED, "failed"),
    ],
)
def test_an_outcome_ends_a_cast_in_its_status(outcome: Outcome, status: str) -> None:
    assert status_for(outcome) == status
    assert status_for(outcome) in TERMINAL_STATUSES


def _string_constants(module: Path) -> list[tuple[int, str]]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


@pytest.mark.parametrize("module", STATUS_USERS, ids=lambda p: str(p.relative_to(SRC)))
def test_cast_code_names_statuses_only_through_the_enum(module: Path) -> None:
    literals = [(line, value) for line, value in _string_constants(module) if value in WIRE]
    assert literals == [], f"{module.relative_to(SRC)} spells out cast statuses: {literals}"
