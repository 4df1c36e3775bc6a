"""Egress rules shared by every way out: WASM ``spell.http_request``, host ``http`` steps, webhooks."""

from spell.runtimes.egress.client import EgressPolicy, Refused, Response, check_headers
from spell.runtimes.egress.rules import Denied, Target, check_url, host_allowed, is_public_address

__all__ = [
    "Denied",
    "EgressPolicy",
    "Refused",
    "Response",
    "Target",
    "check_headers",
    "check_url",
    "host_allowed",
    "is_public_address",
]
