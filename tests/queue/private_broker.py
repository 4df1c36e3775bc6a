"""A NATS JetStream server of one test's own, for tests that stop the broker (the shared one stays up)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.fixtures.database import service_unavailable

__all__ = ["PrivateBroker", "private_broker"]


@dataclass(frozen=True)
class PrivateBroker:
    """The running ``nats-server`` and its URL."""

    process: subprocess.Popen[bytes]
    url: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def private_broker(folder: Path) -> Iterator[PrivateBroker]:
    """Start ``nats-server -js`` on a free port, storing under ``folder``; killed at the end."""
    binary = shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin:/usr/local/bin")
    if binary is None:
        service_unavailable("nats-server is not installed")
    port = _free_port()
    command = [binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(folder / "jetstream")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, "nats-server exited at start"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nats-server never listened"
                time.sleep(0.05)  # a child process's readiness, not test logic
        yield PrivateBroker(process, f"nats://127.0.0.1:{port}")
    finally:
        process.kill()
        process.wait(10)
