"""Which URLs outbound requests may name, and which addresses they may reach (see README.md).

Every way out of a cast or of the server (WASM ``spell.http_request``, host ``http`` steps and
checks, webhooks) goes through these rules, so one spelling of an address refused in one place is
refused in all of them.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from spell.runtimes.egress.policy import system_resolver

__all__ = [
    "LOOPBACK_NETWORKS",
    "PRIVATE_NETWORKS",
    "Address",
    "Denied",
    "Network",
    "Resolver",
    "Target",
    "address_allowed",
    "check_url",
    "host_allowed",
    "in_networks",
    "ip_literal",
    "is_public_address",
    "system_resolver",
]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]
"""``(host, port) -> addresses``, blocking; it runs on the calling thread, never on an event loop."""

# ``is_global`` alone lets through ranges that lead back inside: NAT64 and 6to4 embed an IPv4
# address a gateway may translate to a private one, Teredo tunnels, and shared address space.
_NEVER_PUBLIC: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "192.88.99.0/24",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::ffff:0:0/96",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/32",
        "2001:db8::/32",
        "2002::/16",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)

LOOPBACK_NETWORKS: tuple[Network, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
"""What a local policy's ``network.allow_loopback`` opens."""

PRIVATE_NETWORKS: tuple[Network, ...] = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
"""Every address: what an operator opens for receivers inside a closed network (tests too)."""


class Denied(Exception):
    """A URL or address the rules refuse; ``reason`` is a stable code (``EGRESS_DENIED`` reasons)."""

    def __init__(self, reason: str, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.url = url


@dataclass(frozen=True)
class Target:
    """A URL that passed the rules; ``literal`` is set when its host is an IP address."""

    url: str
    host: str
    port: int
    path: str  # path and query, as sent on the request line
    scheme: str = "https"
    literal: Address | None = None
    listed: bool = True  # the host is on the allow-list (else only allowed networks may take it)


def host_allowed(host: str, allow: tuple[str, ...]) -> bool:
    """True when ``host`` is an allowed host or a subdomain of one (``api.x.com`` under ``x.com``)."""
    host = host.lower().rstrip(".")
    return any(host == a or host.endswith("." + a) for a in allow)


def is_public_address(address: str | Address) -> bool:
    """False for loopback, private, link-local, CGNAT, NAT64, 6to4, multicast, unspecified and
    reserved addresses, and for an IPv4-mapped IPv6 address of any of those."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return is_public_address(ip.ipv4_mapped)
    if any(ip in net for net in _NEVER_PUBLIC if net.version == ip.version):
        return False
    return ip.is_global and not ip.is_multicast


def in_networks(address: str | Address, networks: tuple[Network, ...]) -> bool:
    """True when ``address`` (or the IPv4 address it maps) lies in one of ``networks``."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in networks if net.version == ip.version)


def address_allowed(address: str | Address, networks: tuple[Network, ...] = ()) -> bool:
    """A public address, or one inside a network the operator opened."""
    return is_public_address(address) or in_networks(address, networks)


def ip_literal(host: str) -> Address | None:
    """The address ``host`` spells, in any spelling resolvers accept (``127.1``, ``2130706433``,
    ``0x7f.1``, ``0177.0.0.1``, ``[::1]``, ``::ffff:127.0.0.1``…), or None for a host name."""
    candidate = host.strip("[]").split("%", 1)[0].rstrip(".")
    try:
        return ipaddress.ip_address(candidate)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(candidate))
    except (OSError, ValueError):
        return None


def _looks_numeric(host: str) -> bool:
    # Forms inet_aton rejects may still be IPv4 to another resolver; a host name has a letter label.
    labels = [label for label in host.rstrip(".").split(".") if label]
    return bool(labels) and all(label.isdigit() or label.lower().startswith("0x") for label in labels)


def check_url(
    url: str,
    allow: tuple[str, ...] | None,
    *,
    allow_http: bool = False,
    networks: tuple[Network, ...] = (),
    reason_prefix: str = "",
) -> Target:
    """Return the target of ``url`` or raise ``Denied``.

    ``allow``: the hosts (and their subdomains) that may be named; None for any host. ``networks``:
    non-public networks the operator opened; an IP literal inside one is accepted, and a host name
    not on ``allow`` is left for the address check (``Target.listed`` False). A redirect passes
    ``reason_prefix='redirect_'``.
    """
    try:
        return _check(url, allow, allow_http, networks, reason_prefix)
    except Denied as exc:
        exc.url = url[:2048]
        raise


def _check(
    url: str, allow: tuple[str, ...] | None, allow_http: bool, networks: tuple[Network, ...], prefix: str
) -> Target:
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or (80 if scheme == "http" else 443)
        host = (parts.hostname or "").lower()
        if not host.startswith("["):
            # Resolvers apply IDNA: full-width digits would otherwise spell an address as a "name".
            host = host.encode("idna").decode("ascii") if host else host
    except (ValueError, UnicodeError) as exc:
        raise Denied(prefix + "bad_url", f"not a valid URL: {exc}") from None
    # Plain http is decided with the address: a loopback receiver in an opened network may use it.
    if scheme not in ("https", "http"):
        raise Denied(prefix + "not_https", f"only https:// URLs are allowed, got {scheme!r}")
    if not host:
        raise Denied(prefix + "bad_url", "the URL has no host")
    if parts.username or parts.password:
        raise Denied(prefix + "bad_url", "credentials in URLs are not allowed")
    literal = ip_literal(host)
    numeric = literal is not None or _looks_numeric(host)
    if numeric and (literal is None or not in_networks(literal, networks)):
        raise Denied(prefix + "ip_literal", f"IP addresses are not allowed, name a host: {host}")
    listed = allow is None or host_allowed(host, allow)
    if literal is None and not listed and not networks:
        raise Denied(prefix + "host_not_allowed", f"host {host} is not in runtime.policy.net_allow")
    if scheme == "http" and not allow_http and not networks:
        raise Denied(prefix + "not_https", "only https:// URLs are allowed, got 'http'")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(url=url, host=host, port=port, path=path, scheme=scheme, literal=literal, listed=listed)
