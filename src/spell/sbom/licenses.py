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
reference makes the expression invalid, and so does one longer than ``MAX_EXPRESSION`` characters.

The rule is checked on the expression's tree (AND: all parts, OR: any part) rather than by expanding
it into its ways, which grow exponentially with the number of ORs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, Literal

from license_expression import (  # type: ignore[import-untyped]
    ExpressionError,
    LicenseWithExceptionSymbol,
    Licensing,
    ParseError,
    get_spdx_licensing,
)

__all__ = ["MAX_EXPRESSION", "UNASSERTED", "LicenseRule", "license_problem"]

Reason = Literal["invalid", "denied", "not_allowed"]

#: SPDX's words for "no licence stated"; they name nothing a list could allow or deny.
UNASSERTED = frozenset({"NOASSERTION", "NONE"})

_REFERENCES = ("LicenseRef-", "DocumentRef-")
#: Real expressions are a few dozen characters; the bound keeps parsing and the tree walk shallow.
MAX_EXPRESSION = 1024


@functools.cache
def _licensing() -> Licensing:
    return get_spdx_licensing()


def _parse(expression: str) -> Any | None:
    """The parsed expression, or None when it is not valid SPDX."""
    if len(expression) > MAX_EXPRESSION:
        return None
    try:
        parsed = _licensing().parse(expression, validate=False, strict=True)
    except (ExpressionError, ParseError, IndexError, AssertionError):
        # The parser fails some malformed input ("()", "( OR MIT") with an IndexError or an assertion
        # instead of its own errors; either way the expression is not valid SPDX.
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

    def _denied(self, symbol: Any) -> bool:
        return bool(self._names(symbol) & self.deny)

    def _acceptable(self, symbol: Any) -> bool:
        if self._denied(symbol):
            return False
        return not self.allow or bool(self._names(symbol) & self.allow)

    def problem(self, expression: str) -> Reason | None:
        """Why ``expression`` is refused, or None when some way of complying with it is acceptable."""
        parsed = _parse(expression)
        if parsed is None:
            return "invalid"
        if _holds(parsed, self._acceptable):
            return None
        if not _holds(parsed, lambda symbol: not self._denied(symbol)):
            return "denied"
        return "not_allowed"


def _holds(node: Any, test: Callable[[Any], bool]) -> bool:
    """Whether some way of complying with ``node`` uses only licences passing ``test``."""
    licensing = _licensing()
    if isinstance(node, licensing.AND):
        return all(_holds(part, test) for part in node.args)
    if isinstance(node, licensing.OR):
        return any(_holds(part, test) for part in node.args)
    return test(node)


def license_problem(expression: str, *, allow: Iterable[str] = (), deny: Iterable[str] = ()) -> Reason | None:
    """Why ``expression`` is refused by the lists (``invalid``, ``denied``, ``not_allowed``), or None."""
    return LicenseRule(allow=allow, deny=deny).problem(expression)
