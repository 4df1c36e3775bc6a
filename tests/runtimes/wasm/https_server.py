"""A local HTTPS server with its own CA, standing in for third-party hosts in egress tests."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from spell.runtimes.wasm import EgressOptions

HOSTS = ("api.example.test", "sub.api.example.test", "evil.example.org", "example.com")
PUBLIC = "8.8.8.8"  # what every name in HOSTS resolves to; dialled as the local server, never really
BIG_BODY = b"x" * 300_000


@dataclass(frozen=True)
class FakeHttps:
    """Where the server listens and a client context that trusts its CA."""

    port: int
    client_context: ssl.SSLContext
    seen: list[str]


class _Handler(BaseHTTPRequestHandler):
    seen: list[str]

    def log_message(self, format: str, *args: object) -> None:
        return  # keep test output clean

    def _route(self) -> None:
        host = self.headers.get("Host", "")
        self.seen.append(f"{self.command} {host}{self.path}")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path == "/redirect-out":
            self._send(302, b"", location="https://evil.example.org/hello")
        elif self.path == "/redirect-in":
            self._send(302, b"", location="https://sub.api.example.test/hello")
        elif self.path == "/redirect-http":
            self._send(301, b"", location="http://api.example.test/hello")
        elif self.path == "/loop":
            self._send(302, b"", location="/loop")
        elif self.path == "/big":
            self._send(200, BIG_BODY)
        elif self.path == "/echo":
            self._send(200, body)
        else:
            self._send(200, f"hi from {host}".encode())

    do_GET = do_POST = _route

    def _send(self, status: int, body: bytes, *, location: str | None = None) -> None:
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def certificates(tmp: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA, and a certificate it signed for every name in HOSTS with its key: (ca, cert, key)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Spell test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOSTS[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in HOSTS]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = tmp / "ca.pem", tmp / "cert.pem", tmp / "key.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca_path, cert_path, key_path


@contextmanager
def fake_https(tmp: Path) -> Iterator[FakeHttps]:
    """Serve the routes above on 127.0.0.1 over TLS until the block ends."""
    ca_path, cert_path, key_path = certificates(tmp)
    seen: list[str] = []
    handler = type("Handler", (_Handler,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert_path, key_path)
    server.socket = server_ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client_ctx = ssl.create_default_context(cafile=str(ca_path))
    try:
        yield FakeHttps(port=server.server_address[1], client_context=client_ctx, seen=seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def reaching(port: int, ssl_context: ssl.SSLContext | None = None) -> EgressOptions:
    """Egress options under which every name in HOSTS is a public host served at 127.0.0.1:``port``.

    Only the resolver and the dialler are replaced: the egress rules run as in production, so a
    refused URL is refused here too, and nothing but ``PUBLIC`` is ever dialled.
    """

    def resolve(host: str, _port: int) -> list[str]:
        if host not in HOSTS:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [PUBLIC]

    def dial(address: tuple[str, int], timeout: float) -> socket.socket:
        if address[0] != PUBLIC:
            raise ConnectionRefusedError(f"no route to {address[0]} in the test world")
        return socket.create_connection(("127.0.0.1", port), timeout=timeout)

    return EgressOptions(ssl_context=ssl_context, resolver=resolve, dial=dial)
