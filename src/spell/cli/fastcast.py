"""Recognise a plain local ``spell cast`` so the entry point can run it without click.

Importing click, and building the command from its decorators, is a fifth of a local cast's
start-up (docs/performance.md, "Local cast start-up"). The arguments of the common case are few
and simple, so they are read here; anything else — help, a remote cast, ``--input``, a profile,
``--opt=value``, bundled short flags, ``--``, an unknown or repeated value option, shell
completion — returns ``None`` and goes to click, which also produces every usage error. What is
accepted here is parsed exactly as click parses it, so both paths call the command's body with the
same values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["plain_local_cast"]

_FLAGS = {
    "--dry-run": "dry_run",
    "--yes": "yes",
    "--allow-billing": "allow_billing",
    "--allow-unsigned": "allow_unsigned",
    "--require-signature": "require_signature",
    "-v": "verbose",
    "--verbose": "verbose",
    "--json": "as_json",
}
_PARAM = ("-p", "--param")
_VERSION = "--version"


def plain_local_cast(args: list[str], environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The keyword arguments of the cast command's body for ``args``, or ``None`` to let click parse.

    A profile from ``SPELL_PROFILE`` may send the cast to a server, and ``_SPELL_COMPLETE`` asks
    for completions: both go to click.
    """
    if not args or args[0] != "cast" or environ.get("SPELL_PROFILE") or "_SPELL_COMPLETE" in environ:
        return None
    request: dict[str, Any] = dict.fromkeys(_FLAGS.values(), False)
    request.update(spell_id=None, version=None, params=[])
    rest = iter(args[1:])
    for arg in rest:
        if arg in _FLAGS:
            request[_FLAGS[arg]] = True
        elif arg in _PARAM or arg == _VERSION:
            value = next(rest, None)
            if value is None or value.startswith("-"):
                return None  # click reports the missing value, or reads the dash as one
            if arg == _VERSION:
                if request["version"] is not None:
                    return None
                request["version"] = value
            else:
                request["params"].append(value)
        elif arg.startswith("-") or request["spell_id"] is not None:
            return None
        else:
            request["spell_id"] = arg
    if request["spell_id"] is None:
        return None
    request["params"] = tuple(request["params"])
    return request
