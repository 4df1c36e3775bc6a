"""Outbound HTTP that connects to the address it checked (no DNS-rebinding window).

A name is resolved once, every answer is checked, and the connection dials that checked address
while TLS still sends and verifies the host name (SNI, certificate). Redirects are checked again hop
by hop, or not followed.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from spell.runtimes.egress.policy import EgressPolicy
from spell.runtimes.egress.rules import (
    Address,
    Denied,
    Target,
    address_allowed,
    in_networks,
    is_public_address,
)

if TYPE_CHECKING:  # http.client and ssl load email and OpenSSL: only requests that are sent pay for them
    import http.client
    from concurrent.futures import ThreadPoolExecutor

__all__ = [
    "FORBIDDEN_HEADERS",
    "REDIRECTS",
    "Dial",
    "EgressPolicy",
    "Refused",
    "Response",
    "check_headers",
    "connect",
    "fetch",
    "pin",
    "without_credentials_across_origins",
]

Dial = Callable[[tuple[str, int], float], socket.socket]
"""``((address, port), timeout) -> connected socket``; always given an address, never a name."""

REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CREDENTIALS = frozenset({"authorization", "proxy-authorization", "cookie"})
_CHUNK = 64 * 1024


# Set by the sender, never by the spell: Host would reach other sites behind an allowed address, and
# the framing headers would smuggle a second request.
FORBIDDEN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "upgrade", "te"})


class Refused(Exception):
    """A request given up for a reason other than the rules (``TOO_MANY_REDIRECTS``…)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Response:
    """What the last hop answered; ``requests`` counts every hop sent."""

    status: int
    headers: dict[str, str]
    body: bytes
    url: str
    requests: int


def pin(
    policy: EgressPolicy, target: Target, *, reason_prefix: str = "", timeout_s: float | None = None
) -> str:
    """``EgressPolicy.pin``: the address to dial for ``target``, every answer of its name checked."""
    try:
        return _pin(policy, target, reason_prefix, timeout_s)
    except Denied as exc:
        exc.url = target.url[:2048]
        raise


def _resolve(policy: EgressPolicy, target: Target, timeout_s: float | None) -> Sequence[str]:
    if timeout_s is None:
        return policy.resolver(target.host, target.port)
    from concurrent.futures import TimeoutError as FutureTimeout

    lookup = _lookups().submit(policy.resolver, target.host, target.port)
    try:
        return lookup.result(timeout=max(timeout_s, 0.0))
    except FutureTimeout:
        raise Refused("TIMEOUT", f"resolving {target.host} took longer than the request's time") from None


def _pin(policy: EgressPolicy, target: Target, prefix: str, timeout_s: float | None) -> str:
    address: Address
    if target.literal is not None:
        address = target.literal
    else:
        answers = [ipaddress.ip_address(a) for a in _resolve(policy, target, timeout_s)]
        if not answers:
            raise OSError(f"{target.host} does not resolve")
        for answer in answers:
            if not address_allowed(answer, policy.networks):
                raise Denied(
                    prefix + "private_address",
                    f"{target.host} resolves to a non-public address {answer}",
                )
        address = answers[0]
    # A name counts as opened only when every answer is: one private answer among public ones
    # must not lift the allow-list for the rest.
    pinned = [address] if target.literal is not None else answers
    opened = all(in_networks(a, policy.networks) and not is_public_address(a) for a in pinned)
    if not target.listed and not opened:
        raise Denied(prefix + "host_not_allowed", f"host {target.host} is not in runtime.policy.net_allow")
    if target.scheme == "http" and not (policy.allow_http or opened):
        raise Denied(prefix + "not_https", "only https:// URLs are allowed, got 'http'")
    return str(address)


def connect(policy: EgressPolicy, target: Target, address: str, timeout: float) -> http.client.HTTPConnection:
    """``EgressPolicy.connect``: dial ``address``; TLS names and verifies ``target.host``."""
    import http.client
    import ssl

    sock = policy.dial((address, target.port), timeout)
    if target.scheme == "http":
        conn = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
        conn.sock = sock
        return conn
    context = policy.ssl_context or ssl.create_default_context()
    try:
        wrapped = context.wrap_socket(sock, server_hostname=target.host)
    except BaseException:
        sock.close()
        raise
    conn = http.client.HTTPSConnection(target.host, target.port, timeout=timeout, context=context)
    conn.sock = wrapped
    return conn


def fetch(
    policy: EgressPolicy,
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
    """``EgressPolicy.fetch``: send the request, each redirect hop checked and pinned like the first."""
    check_headers(headers or {})
    target = policy.check(url, allow)
    prefix = ""
    deadline = time.monotonic() + timeout_s
    for hop in range(max_redirects + 1):
        address = policy.pin(target, reason_prefix=prefix, timeout_s=_left(deadline, timeout_s))
        if before_send is not None:
            before_send(len(body or b""))
        status, answer_headers, data = _one(
            policy, method, target, address, headers, body, deadline, timeout_s, max_bytes
        )
        location = answer_headers.get("location")
        if status not in REDIRECTS or location is None or max_redirects == 0:
            return Response(status, answer_headers, data, target.url, hop + 1)
        prefix = "redirect_"
        previous = target
        target = policy.check(urljoin(target.url, location), allow, reason_prefix=prefix)
        headers = without_credentials_across_origins(previous, target, headers or {})
        if status == 303 or (status in (301, 302) and method == "POST"):
            method, body = "GET", None
    raise Refused("TOO_MANY_REDIRECTS", f"more than {max_redirects} redirects")


def _one(
    policy: EgressPolicy,
    method: str,
    target: Target,
    address: str,
    headers: Mapping[str, str] | None,
    body: bytes | None,
    deadline: float,
    timeout_s: float,
    max_bytes: int,
) -> tuple[int, dict[str, str], bytes]:
    conn = policy.connect(target, address, _left(deadline, timeout_s))
    # Kept here: the connection lets go of its socket once an answer says it closes.
    sock = conn.sock
    response: http.client.HTTPResponse | None = None
    try:
        conn.request(method, target.path, body=body, headers=dict(headers or {}))
        sock.settimeout(_left(deadline, timeout_s))
        response = conn.getresponse()
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            # Each read waits at most for what is left, so trickled bytes cannot stretch the request.
            sock.settimeout(_left(deadline, timeout_s))
            chunk = response.read1(min(_CHUNK, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise Refused("RESPONSE_TOO_LARGE", f"the response body is larger than {max_bytes} bytes")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, b"".join(chunks)
    except TimeoutError:
        raise Refused("TIMEOUT", f"no complete answer within {timeout_s:g}s") from None
    finally:
        if response is not None:
            response.close()
        conn.close()
        sock.close()


@functools.cache
def _lookups() -> ThreadPoolExecutor:
    """Where lookups run: getaddrinfo cannot be given a timeout, so a request stops waiting for one
    here (the lookup itself ends when the system resolver gives up). Made on the first request, so
    a cast that sends none loads no thread pool."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="spell-egress-dns")


def _left(deadline: float, timeout_s: float) -> float:
    """Seconds left before ``deadline``; ``Refused("TIMEOUT")`` once none are."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise Refused("TIMEOUT", f"no complete answer within {timeout_s:g}s")
    return left


def check_headers(headers: Mapping[str, str]) -> None:
    """Raise ``Refused("BAD_REQUEST")`` for a header the sender sets itself, an empty name, or a line
    break or NUL in a name or value (which ``http.client`` would refuse with a bare ``ValueError``)."""
    for name, value in headers.items():
        if name.lower() in FORBIDDEN_HEADERS:
            raise Refused("BAD_REQUEST", f"header {name!r} is set by the sender")
        if not name or any(c in name + value for c in "\r\n\0"):
            raise Refused("BAD_REQUEST", f"header {name!r} holds a line break or is empty")


def without_credentials_across_origins(
    previous: Target, target: Target, headers: Mapping[str, str]
) -> dict[str, str]:
    """``headers`` for the next hop of a redirect: credentials meant for one origin are not handed to
    another (as browsers do)."""
    if (target.host, target.port, target.scheme) == (previous.host, previous.port, previous.scheme):
        return dict(headers)
    return {k: v for k, v in headers.items() if k.lower() not in _CREDENTIALS}
