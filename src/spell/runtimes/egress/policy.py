"""``EgressPolicy``: the operator's side of egress, as a value.

Settings build it and engines carry it on every cast, most of which send no request: this module
imports neither the rules' address tables nor the client's ``socket``/``http.client``, and loads
them the first time a policy checks, resolves or sends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import http.client
    import socket
    import ssl

    from spell.runtimes.egress.client import Dial, Response
    from spell.runtimes.egress.rules import Network, Resolver, Target

__all__ = ["EgressPolicy", "system_dial", "system_resolver"]


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, in the system's order, without duplicates."""
    import socket

    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[str, None] = {}
    for info in infos:
        seen.setdefault(str(info[4][0]).split("%", 1)[0], None)
    return list(seen)


def system_dial(address: tuple[str, int], timeout: float) -> socket.socket:
    """A TCP connection to ``address`` (always an address, never a name)."""
    import socket

    return socket.create_connection(address, timeout=timeout)


@dataclass(frozen=True)
class EgressPolicy:
    """The operator's side of egress; the spell's side is the host allow-list given per request.

    ``allow_http``: plain http to public hosts. ``networks``: non-public networks opened (loopback
    for a local developer, everything for a closed network); plain http is allowed to addresses in
    them, and a host name off the allow-list is allowed when it resolves only into them.
    ``resolver``, ``dial`` and ``ssl_context`` default to the system's; tests replace them.
    """

    allow_http: bool = False
    networks: tuple[Network, ...] = ()
    resolver: Resolver = system_resolver
    dial: Dial = system_dial
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False)

    @classmethod
    def loopback_allowed(cls, *, allow_http: bool = False) -> EgressPolicy:
        """Public hosts as usual, plus this machine (``127.0.0.0/8``, ``::1``)."""
        from spell.runtimes.egress.rules import LOOPBACK_NETWORKS

        return cls(allow_http=allow_http, networks=LOOPBACK_NETWORKS)

    @classmethod
    def unsafe_private_allowed(cls) -> EgressPolicy:
        """Any address and plain http: only for receivers inside a closed network, and tests."""
        from spell.runtimes.egress.rules import PRIVATE_NETWORKS

        return cls(allow_http=True, networks=PRIVATE_NETWORKS)

    def check(self, url: str, allow: tuple[str, ...] | None, *, reason_prefix: str = "") -> Target:
        """The URL rules alone (no resolution): raise ``Denied`` or return the target."""
        from spell.runtimes.egress.rules import check_url

        return check_url(
            url, allow, allow_http=self.allow_http, networks=self.networks, reason_prefix=reason_prefix
        )

    def pin(self, target: Target, *, reason_prefix: str = "", timeout_s: float | None = None) -> str:
        """Resolve ``target`` once and return the address to dial; raise ``Denied`` when an answer is
        not allowed, ``OSError`` when the name does not resolve, ``Refused("TIMEOUT")`` when the
        lookup outlasts ``timeout_s``. Blocking: call it off the event loop."""
        from spell.runtimes.egress import client

        return client.pin(self, target, reason_prefix=reason_prefix, timeout_s=timeout_s)

    def connect(self, target: Target, address: str, timeout: float) -> http.client.HTTPConnection:
        """An HTTP(S) connection to ``address`` for ``target``; TLS names and verifies ``target.host``."""
        from spell.runtimes.egress import client

        return client.connect(self, target, address, timeout)

    def fetch(
        self,
        method: str,
        url: str,
        *,
        allow: tuple[str, ...] | None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout_s: float,
        max_bytes: int,
        max_redirects: int = 5,
        before_send: Callable[[int], None] | None = None,
    ) -> Response:
        """Send the request, following up to ``max_redirects`` redirects (0: none), each hop checked
        and pinned like the first. Raises ``Denied``, ``Refused``, ``OSError`` or ``HTTPException``.

        ``timeout_s`` bounds the whole request, lookups and redirects included: a server that answers
        slowly, byte by byte, or through a chain of redirects is given up as ``Refused("TIMEOUT")``.
        ``before_send(body_bytes)`` is called before each hop is sent and may refuse it by raising
        (a caller's request budget).
        """
        from spell.runtimes.egress import client

        return client.fetch(
            self,
            method,
            url,
            allow=allow,
            headers=headers,
            body=body,
            timeout_s=timeout_s,
            max_bytes=max_bytes,
            max_redirects=max_redirects,
            before_send=before_send,
        )
