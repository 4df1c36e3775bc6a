"""A maker's endpoint over TLS for ``api`` runtime tests: it answers by path and records every call."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from spell.runtimes.egress import EgressPolicy
from tests.runtimes.wasm.https_server import HOSTS, PUBLIC, certificates


@dataclass
class Call:
    """One request the endpoint received."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Endpoint:
    """Where the endpoint listens, an egress policy under which HOSTS reach it, and what it saw."""

    port: int
    egress: EgressPolicy
    calls: list[Call] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)  # lets /slow answer

    def url(self, path: str, host: str = "api.example.test") -> str:
        """An https URL of ``path`` under ``host`` (one of HOSTS)."""
        return f"https://{host}:{self.port}{path}"


class _Handler(BaseHTTPRequestHandler):
    calls: list[Call]
    release: threading.Event

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.calls.append(Call(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        if self.path == "/echo":
            self._send(200, json.dumps({"received": json.loads(body)}).encode())
        elif self.path == "/fail":
            self._send(503, b"down for maintenance")
        elif self.path == "/html":
            self._send(200, b"<html>not json</html>")
        elif self.path == "/big":
            self._send(200, b'"' + b"x" * 300_000 + b'"')
        elif self.path == "/slow":
            self.release.wait(10)  # held until the test is done: only the caller's deadline ends it
            self._send(200, b"{}")
        elif self.path == "/away":
            self._send(307, b"", location="https://evil.example.org/echo")
        else:
            self._send(404, b"no such route")

    def _send(self, status: int, body: bytes, *, location: str | None = None) -> None:
        try:
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            return  # the caller gave up first


@contextmanager
def maker_endpoint(tmp: Path) -> Iterator[Endpoint]:
    """Serve until the block ends."""
    ca_path, cert_path, key_path = certificates(tmp)
    calls: list[Call] = []
    release = threading.Event()
    handler = type("Handler", (_Handler,), {"calls": calls, "release": release})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]

    def resolve(host: str, _port: int) -> list[str]:
        if host not in HOSTS:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [PUBLIC]

    def dial(address: tuple[str, Any], timeout: float) -> socket.socket:
        if address[0] != PUBLIC:
            raise ConnectionRefusedError(f"no route to {address[0]} in the test world")
        return socket.create_connection(("127.0.0.1", port), timeout=timeout)

    egress = EgressPolicy(
        resolver=resolve, dial=dial, ssl_context=ssl.create_default_context(cafile=str(ca_path))
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield Endpoint(port, egress, calls, release)
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join()
