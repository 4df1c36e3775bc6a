"""A live Spell server for SDK and CLI tests: the real app under uvicorn on a free local port."""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import uvicorn

from spell.api import create_app
from spell.config.server import ServerSettings
from spell.kit.time import utcnow
from spell.models import ApiKey
from spell.platform.server import Platform
from spell.signing.signature import sign_bundle
from tests.fixtures.bundles import Publisher, new_publisher, wasm_bundle
from tests.fixtures.server import Caller, seed_user

WRITER_WAT = (Path(__file__).resolve().parents[1] / "assets" / "wasm" / "open_path.wat").read_text(
    encoding="utf-8"
)
FLAT_PRICE = "pricing:\n  model: flat\n  amount_micros: 250000\n"


@dataclass(frozen=True)
class LiveServer:
    """Where the server listens, and the platform behind it (to seed users and credit)."""

    url: str
    platform: Platform


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(platform: Platform, settings: ServerSettings) -> Iterator[LiveServer]:
    """Serve the app over ``platform`` on 127.0.0.1 in a thread until the block ends."""
    port = free_port()
    app = create_app(settings, platform=platform, manage=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the live server stopped while starting"
        assert time.monotonic() < deadline, "the live server did not start in time"
        time.sleep(0.01)  # readiness polling of the server thread, not a wait for test logic
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", platform)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def maker_of(live: LiveServer, email: str = "maker@example.com", publisher: str = "acme") -> Caller:
    """A maker user with a fresh (not yet registered) publisher key."""
    maker = seed_user(live.platform, email, ["maker"])
    maker.publisher = new_publisher(publisher)
    return maker


def writer_bundle(
    folder: Path, signer: Publisher, spell_id: str = "acme/writer", *, priced: bool = True
) -> Path:
    """A signed WASM spell that writes the file its input names (``"w:PATH"``) under ``out/``."""
    bundle = wasm_bundle(folder, spell_id, wat=WRITER_WAT, schema={"type": "string"}, fs_write=("out",))
    if priced:
        with (bundle / "spell.yaml").open("a", encoding="utf-8") as manifest:
            manifest.write(FLAT_PRICE)
    sign_bundle(bundle, signer.private_key, key_id=signer.key_id)
    return bundle


def expire_key(live: LiveServer, caller: Caller) -> None:
    """Make the caller's key expired (before it was ever used, so no cache holds it)."""
    with live.platform.db.unit_of_work() as uow:
        key = uow.session.query(ApiKey).filter(ApiKey.user_id == caller.user_id).one()
        key.expires_at = utcnow() - timedelta(seconds=1)


def unique(prefix: str) -> str:
    """A name no other test uses."""
    return f"{prefix}-{secrets.token_hex(4)}"
