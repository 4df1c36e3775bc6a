"""A SPELL_HOME that trusts the demo key, and helpers to sign and install test bundles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from spell.config.home import SpellHome
from spell.signing.keys import load_private_key
from spell.signing.signature import sign_bundle
from spell.signing.trust import TrustStore
from tests.cli.run_cli import run_cli
from tests.runtimes.host.bundles import make_bundle

ROOT = Path(__file__).resolve().parents[2]
DEMO_PRIVATE = ROOT / "examples" / "keys" / "samples__demo.private.pem"
DEMO_PUBLIC = (ROOT / "examples" / "keys" / "samples__demo.public.b64url.txt").read_text().strip()
EXAMPLES = ROOT / "examples" / "spells"


def use_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SpellHome:
    """Point SPELL_HOME at a fresh folder whose trust store holds the demo key."""
    home = SpellHome(tmp_path / "home")
    monkeypatch.setenv("SPELL_HOME", str(home.root))
    TrustStore(home.trust).add_key("samples", DEMO_PUBLIC, key_id="demo")
    return home


def install(bundle: Path, *, sign: bool = True) -> None:
    """Sign (with the demo key) and install a bundle folder."""
    if sign:
        sign_bundle(bundle, load_private_key(DEMO_PRIVATE), key_id="demo")
    result = run_cli("install", str(bundle), "--json")
    assert result.exit_code == 0, result.stderr


def host_spell(
    root: Path,
    name: str,
    script: str,
    *,
    sign: bool = True,
    schema: str | None = None,
    **extra: Any,
) -> str:
    """Make, sign and install ``samples/<name>`` with one shell step running ``script``."""
    bundle = make_bundle(
        root / name,
        extra.pop("steps", [{"uses": "shell", "name": "main", "run": "steps/main.sh"}]),
        {"steps/main.sh": script, **extra.pop("files", {})},
        id=f"samples/{name}",
        **extra,
    )
    if schema is not None:
        (bundle / "schema.json").write_text(schema, encoding="utf-8")
    install(bundle, sign=sign)
    return f"samples/{name}"
