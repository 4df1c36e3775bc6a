"""Retention errors: the retention domain's leaves of the one catalog (tree in ``spell.errors``)."""

from __future__ import annotations

from spell.errors import NotFound

__all__ = ["LegalHoldTargetNotFound"]


class LegalHoldTargetNotFound(NotFound):
    """No user or tenant with that id to put under (or release from) a legal hold."""

    code = "LEGAL_HOLD_TARGET_NOT_FOUND"
