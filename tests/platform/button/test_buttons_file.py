"""The operator's buttons file: anything but a list of well-formed buttons is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from spell.errors import InvalidInput
from spell.platform.button.service import read_buttons_file


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"buttons": [{"id": "x"}]}',
        '{"buttons": [{"id": "x", "spell_id": "a/b", "version": "1.0.0", "colour": "red"}]}',
    ],
)
def test_a_malformed_buttons_file_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "buttons.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput):
        read_buttons_file(path)
