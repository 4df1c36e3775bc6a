"""The settings tables of the docs are the ones written from the settings groups."""

from __future__ import annotations

from pathlib import Path

import pytest

from spell.config.reference import SERVER_GROUPS, TABLES, settings_table

ROOT = Path(__file__).resolve().parents[2]
START = "<!-- settings table:"
END = "<!-- end of settings table -->"


def _documented_table(page: str) -> str:
    text = (ROOT / page).read_text(encoding="utf-8")
    after_start = text[text.index(START) :].split("\n", 1)[1]
    return after_start[: after_start.index(END)].strip("\n") + "\n"


@pytest.mark.parametrize("page", sorted(TABLES))
def test_the_documented_settings_table_is_the_generated_one(page: str) -> None:
    assert _documented_table(page) == settings_table(TABLES[page]), f"scripts/settings_reference.py {page}"


def test_every_server_setting_has_a_row_with_a_meaning() -> None:
    rows = settings_table(SERVER_GROUPS).splitlines()[2:]
    assert all(row.count(" | ") == 2 and not row.endswith("|  |") for row in rows)
    assert any("`SPELL_DATABASE_URL`" in row for row in rows)
    assert any(row.startswith("| `SPELL_WASM_MAX_FUEL` |") for row in rows)
