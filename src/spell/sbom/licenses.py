"""SPDX licence expressions (``license-expression``) checked against a deployment's allow and deny lists.

An expression offers one or more ways to comply with it: its disjunctive normal form, so
``MIT OR (Apache-2.0 AND BSD-3-Clause)`` offers {MIT} and {Apache-2.0, BSD-3-Clause}. A way is
acceptable when it uses no denied licence and, if the allow-list is not empty, only allowed ones. The
component passes when at least one way is acceptable, because whoever ships it may choose that way:

- ``MIT OR GPL-3.0-only`` with GPL-3.0-only denied passes (MIT alone complies);
- ``MIT AND GPL-3.0-only`` is refused (every way includes GPL-3.0-only);
- with an allow-list of MIT and Apache-2.0, ``MIT OR GPL-3.0-only`` passes and ``GPL-3.0-only`` does not.

``X WITH exception`` matches a list entry naming ``X`` alone or ``X WITH exception`` exactly. Ids are
compared as SPDX normalises them (case-insensitive, deprecated ids such as ``GPL-3.0`` read as
``GPL-3.0-only``). An id that is neither on the SPDX list nor a ``LicenseRef-``/``DocumentRef-``
reference makes the expression invalid.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any, Literal

from license_expression import (  # type: ignore[import-untyped]
    ExpressionError,
    LicenseWithExceptionSymbol,
    Licensing,
    get_spdx_licensing,
)

__all__ = ["UNASSERTED", "LicenseRule", "license_problem"]

Reason = Literal["invalid", "denied", "not_allowed"]

#: SPDX's words for "no licence stated"; they name nothing a list could allow or deny.
UNASSERTED = frozenset({"NOASSERTION", "NONE"})

_REFERENCES = ("LicenseRef-", "DocumentRef-")


@functools.cache
def _licensing() -> Licensing:
    return get_spdx_licensing()


def _parse(expression: str) -> Any | None:
    """The parsed expression, or None when it is not valid SPDX."""
    try:
        parsed = _licensing().parse(expression, validate=False, strict=True)
    except ExpressionError:
        return None
    if parsed is None:
        return None
    unknown = [key for key in _licensing().unknown_license_keys(parsed) if not key.startswith(_REFERENCES)]
    return None if unknown else parsed


def _normalised(identifier: str) -> str:
    parsed = _parse(identifier)
    return (str(parsed) if parsed is not None else identifier).lower()


class LicenseRule:
    """The allow and deny lists, normalised once."""

    def __init__(self, *, allow: Iterable[str] = (), deny: Iterable[str] = ()) -> None:
        self.allow = frozenset(_normalised(i) for i in allow)
        self.deny = frozenset(_normalised(i) for i in deny)

    def _names(self, symbol: Any) -> frozenset[str]:
        if isinstance(symbol, LicenseWithExceptionSymbol):
            return frozenset({str(symbol.license_symbol).lower(), str(symbol).lower()})
        return frozenset({str(symbol).lower()})

    def _acceptable(self, way: list[Any]) -> bool:
        names = [self._names(symbol) for symbol in way]
        if any(n & self.deny for n in names):
            return False
        return not self.allow or all(n & self.allow for n in names)

    def problem(self, expression: str) -> Reason | None:
        """Why ``expression`` is refused, or None when some way of complying with it is acceptable."""
        parsed = _parse(expression)
        if parsed is None:
            return "invalid"
        ways = _ways(parsed)
        if any(self._acceptable(way) for way in ways):
            return None
        if all(any(self._names(symbol) & self.deny for symbol in way) for way in ways):
            return "denied"
        return "not_allowed"


def _ways(parsed: Any) -> list[list[Any]]:
    """The alternatives of the expression's disjunctive normal form, each a list of licence symbols."""
    licensing = _licensing()
    normal = licensing.dnf(parsed)
    alternatives = normal.args if isinstance(normal, licensing.OR) else (normal,)
    return [list(a.args) if isinstance(a, licensing.AND) else [a] for a in alternatives]


def license_problem(expression: str, *, allow: Iterable[str] = (), deny: Iterable[str] = ()) -> Reason | None:
    """Why ``expression`` is refused by the lists (``invalid``, ``denied``, ``not_allowed``), or None."""
    return LicenseRule(allow=allow, deny=deny).problem(expression)
