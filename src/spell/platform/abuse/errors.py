"""Abuse errors: the abuse domain's leaves of the one catalog (tree in ``spell.errors``)."""

from __future__ import annotations

from spell.errors import Conflict

__all__ = ["NotSuspended"]


class NotSuspended(Conflict):
    """A reinstatement named a spell or user that is not suspended."""

    code = "NOT_SUSPENDED"
