"""Egress rules shared by every way out: WASM ``spell.http_request``, host ``http`` steps, webhooks.

``EgressPolicy`` is loaded with the package; the rules and the client (``ipaddress``, ``socket``)
only when one of their names is first asked for, so a cast that sends nothing never loads them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from spell.runtimes.egress.policy import EgressPolicy

if TYPE_CHECKING:
    from spell.runtimes.egress.client import Refused, Response, check_headers
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

_LAZY = {
    "Refused": "client",
    "Response": "client",
    "check_headers": "client",
    "Denied": "rules",
    "Target": "rules",
    "check_url": "rules",
    "host_allowed": "rules",
    "is_public_address": "rules",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
