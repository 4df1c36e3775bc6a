"""The lived-in ``$SPELL_HOME`` every test of the bundle foundation starts from."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundle.factories import COMPAT
from tests.cli.foundation.hostile import EXPECTED
from tests.cli.run_cli import run_cli


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``$SPELL_HOME`` with a trusted publisher, an installed spell and a policy file."""
    home = tmp_path / "home"
    monkeypatch.setenv("SPELL_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    assert (
        run_cli("trust", "add", "compat", EXPECTED["public_key_base64url"], "--key-id", "k1").exit_code == 0
    )
    assert run_cli("install", str(COMPAT / "greet"), "--json").exit_code == 0
    policy = tmp_path / "policy.json"
    policy.write_text('{"version": "v1", "default": "allow"}\n', encoding="utf-8")
    assert run_cli("policy", "set", "--file", str(policy)).exit_code == 0
    return home
