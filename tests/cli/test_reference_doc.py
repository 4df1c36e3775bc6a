"""docs/cli.md's command list is the one printed from the CLI itself, so it cannot fall behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INTRO = "examples from its help).\n\n"


def test_the_documented_command_list_is_the_generated_one() -> None:
    printed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "cli_reference.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    documented = page[page.index(INTRO) + len(INTRO) :]
    assert documented.rstrip("\n") == printed.rstrip("\n"), (
        "run scripts/cli_reference.py and paste its output at the end of docs/cli.md"
    )
    assert "### `spell admin tenant bind`" in documented
