"""The processes of a multi-node deployment on one machine: a NATS server the test may restart, API
nodes and workers as real ``spell`` processes, each with its own home and data dir."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.fixtures.database import service_unavailable

__all__ = ["Broker", "Node", "free_port", "node_env"]

_CLI = "from spell.cli.app import main; main()"


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _until(check: object, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} never came up"
        time.sleep(0.05)  # a child process's readiness, not test logic


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@dataclass
class Broker:
    """``nats-server -js`` on a fixed port and store, so a restart keeps the stream and the URL."""

    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The broker's URL."""
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the server and wait until it listens."""
        binary = shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin:/usr/local/bin")
        if binary is None:
            service_unavailable("nats-server is not installed")
        command = [binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.folder)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _until(lambda: _listening(self.port), "nats-server")

    def stop(self) -> None:
        """Stop the server (SIGTERM: it flushes its store, as an orderly restart does)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


@dataclass
class Node:
    """One ``spell serve`` or ``spell worker`` process; ``start`` again after ``kill`` restarts it."""

    name: str
    args: list[str]
    env: dict[str, str]
    logs: Path
    port: int | None = None
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        """The API node's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: bool = True) -> None:
        """Start the process (an API node: until it answers ``/healthz``)."""
        self.starts += 1
        log = (self.logs / f"{self.name}.{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-c", _CLI, *self.args], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        if wait and self.port is not None:
            _until(self._healthy, self.name, 60)

    def _healthy(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, self.last_log()
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def alive(self) -> bool:
        """Whether the process runs."""
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no grace, no cleanup, as a machine that loses power."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL when it lingers."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def last_log(self) -> str:
        """The tail of the current run's output, for failure messages."""
        path = self.logs / f"{self.name}.{self.starts}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def node_env(base: dict[str, str], home: Path) -> dict[str, str]:
    """``base`` with this node's own home (and so its own data dir and bundles)."""
    env = {**os.environ, **base, "SPELL_HOME": str(home)}
    env.pop("SPELL_SERVER_DATA_DIR", None)
    return env
