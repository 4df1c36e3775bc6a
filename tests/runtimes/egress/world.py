"""A pretend internet for egress tests: names resolve to public addresses that a local server answers.

No packet leaves the machine: ``World.dial`` connects "public" addresses to the local server and
refuses every other address except loopback, which it really dials — so a request that slipped
through to 127.0.0.1 would show up in ``Local.seen``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PUBLIC = "8.8.8.8"  # stands for a public host; dialled as the local server, never really


class _Handler(BaseHTTPRequestHandler):
    seen: list[str]
    headers_seen: list[dict[str, str]]

    def log_message(self, format: str, *args: object) -> None:
        return

    def _route(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        self.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        parts = urlsplit(self.path)
        if parts.path == "/to":
            self._send(302, b"", location=parse_qs(parts.query)["u"][0])
        elif parts.path == "/loop":
            self._send(302, b"", location="/loop")
        elif parts.path == "/trickle":
            self._trickle()
        else:
            self._send(200, b'{"hello": "' + (self.headers.get("Host") or "").encode() + b'"}')

    do_GET = do_POST = _route

    def _trickle(self) -> None:
        """A byte every tenth of a second: each read finishes in time, the whole never does."""
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        try:
            for _ in range(100):
                self.wfile.write(b".")
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:
            return

    def _send(self, status: int, body: bytes, *, location: str | None = None) -> None:
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@dataclass
class Local:
    """A plain HTTP server on 127.0.0.1, the request lines and the headers it received."""

    port: int
    seen: list[str]
    headers: list[dict[str, str]]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        """A URL of this server under ``host``."""
        return f"http://{host}:{self.port}{path}"


@contextmanager
def local_server() -> Iterator[Local]:
    """Serve until the block ends."""
    seen: list[str] = []
    headers: list[dict[str, str]] = []
    handler = type("Handler", (_Handler,), {"seen": seen, "headers_seen": headers})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # A short poll lets shutdown return at once instead of after the default half second.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield Local(server.server_address[1], seen, headers)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class World:
    """Fake DNS answers (a list per name is answered in turn, the last one repeating) and a dialler."""

    answers: dict[str, list[list[str]]]
    public_port: int  # where "public" addresses are dialled
    resolved: list[str] = field(default_factory=list)
    dialled: list[tuple[str, int]] = field(default_factory=list)

    def resolve(self, host: str, port: int) -> Sequence[str]:
        """The next answer for ``host``; an unknown name does not resolve."""
        self.resolved.append(host)
        turns = self.answers.get(host)
        if not turns:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return turns.pop(0) if len(turns) > 1 else turns[0]

    def dial(self, address: tuple[str, int], timeout: float) -> socket.socket:
        """Connect: a public address reaches the local server, loopback is really dialled."""
        self.dialled.append(address)
        host = address[0]
        if host == PUBLIC:
            return socket.create_connection(("127.0.0.1", self.public_port), timeout=timeout)
        if host in ("127.0.0.1", "::1"):
            return socket.create_connection(address, timeout=timeout)
        raise ConnectionRefusedError(f"no route to {host} in the test world")
