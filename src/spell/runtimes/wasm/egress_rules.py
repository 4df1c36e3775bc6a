"""Which URLs a guest may reach: https only, allow-listed hosts (with subdomains), no IP literals."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["Denied", "Target", "check_url", "host_allowed", "is_public_address"]


class Denied(Exception):
    """A URL the policy refuses; ``reason`` is a stable code recorded in the cast's violations."""

    def __init__(self, reason: str, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.url = url


@dataclass(frozen=True)
class Target:
    """A URL that passed the rules."""

    url: str
    host: str
    port: int
    path: str  # path and query, as sent on the request line


def host_allowed(host: str, allow: tuple[str, ...]) -> bool:
    """True when ``host`` is an allowed host or a subdomain of one (``api.x.com`` under ``x.com``)."""
    host = host.lower().rstrip(".")
    return any(host == a or host.endswith("." + a) for a in allow)


def check_url(url: str, allow: tuple[str, ...], *, reason_prefix: str = "") -> Target:
    """Return the target of ``url`` or raise ``Denied``; a redirect passes ``reason_prefix='redirect_'``."""
    try:
        return _check(url, allow, reason_prefix)
    except Denied as exc:
        exc.url = url[:2048]
        raise


def _check(url: str, allow: tuple[str, ...], reason_prefix: str) -> Target:
    try:
        parts = urlsplit(url)
        port = parts.port or 443
        host = (parts.hostname or "").lower()
    except ValueError as exc:
        raise Denied(reason_prefix + "bad_url", f"not a valid URL: {exc}") from None
    if parts.scheme != "https":
        raise Denied(reason_prefix + "not_https", f"only https:// URLs are allowed, got {parts.scheme!r}")
    if not host:
        raise Denied(reason_prefix + "bad_url", "the URL has no host")
    if parts.username or parts.password:
        raise Denied(reason_prefix + "bad_url", "credentials in URLs are not allowed")
    if _is_ip_literal(host):
        raise Denied(reason_prefix + "ip_literal", f"IP addresses are not allowed, name a host: {host}")
    if not host_allowed(host, allow):
        raise Denied(reason_prefix + "host_not_allowed", f"host {host} is not in runtime.policy.net_allow")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(url=url, host=host, port=port, path=path)


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local, multicast and reserved addresses."""
    ip = ipaddress.ip_address(address)
    return ip.is_global and not ip.is_multicast


def _is_ip_literal(host: str) -> bool:
    candidate = host.strip("[]")
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        # Forms like 2130706433 or 0x7f.1 are IPv4 to many resolvers; a host name has a letter label.
        labels = candidate.split(".")
        return all(label.isdigit() or label.startswith("0x") for label in labels if label)
    return True
