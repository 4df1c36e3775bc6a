"""The world of the remote command tests: a live server, private profiles, a maker and a caster."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.api.money_helpers import credit
from tests.cli.run_cli import CliResult, run_cli
from tests.client.live_server import LiveServer, maker_of, writer_bundle
from tests.fixtures.server import Caller, seed_user


@pytest.fixture(autouse=True)
def private_homes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private config folder (profiles) and SPELL_HOME; no server, key or profile from outside."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "spell-home"))
    for name in ("SPELL_SERVER", "SPELL_API_KEY", "SPELL_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@dataclass(frozen=True)
class Maker:
    """A logged-in maker (profile ``maker``) with a signed writer bundle and its key files."""

    caller: Caller
    bundle: Path
    keys_dir: Path


def login(live: LiveServer, caller: Caller, profile: str) -> None:
    """``spell login`` with the caller's key under ``profile``."""
    result = run_cli("login", "--server", live.url, "--api-key", caller.token, "--profile", profile)
    assert result.exit_code == 0, result.stderr


def new_maker(live: LiveServer, tmp_path: Path, *, priced: bool = True) -> Maker:
    """A maker whose key pair sits in ``.spell-keys`` as `spell sign keygen` writes it, logged in."""
    caller = maker_of(live)
    assert caller.publisher is not None
    keys_dir = tmp_path / ".spell-keys"
    keys_dir.mkdir()
    stem = f"{caller.publisher.name}__{caller.publisher.key_id}"
    (keys_dir / f"{stem}.public.b64url.txt").write_text(caller.publisher.public_key + "\n", encoding="utf-8")
    bundle = writer_bundle(tmp_path / "writer", caller.publisher, priced=priced)
    login(live, caller, "maker")
    return Maker(caller, bundle, keys_dir)


def publish(maker: Maker, *extra: str) -> CliResult:
    """``spell publish`` of the maker's bundle with its keys folder."""
    return run_cli(
        "publish", str(maker.bundle), "--keys-dir", str(maker.keys_dir), "--profile", "maker", *extra
    )


def new_caster(live: LiveServer, email: str = "caster@example.com", *, micros: int = 1_000_000) -> Caller:
    """A caster with credit, logged in as profile ``caster``."""
    caster = seed_user(live.platform, email, ["caster"])
    if micros:
        credit(live.platform, caster.user_id, micros)
    login(live, caster, "caster")
    return caster


def write_input(tmp_path: Path, document: str) -> Path:
    """A JSON input file for ``--input``."""
    path = tmp_path / "input.json"
    path.write_text(document, encoding="utf-8")
    return path
