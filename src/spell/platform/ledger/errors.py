"""Ledger errors: the ledger domain's leaves of the one catalog (tree in ``spell.errors``)."""

from __future__ import annotations

from spell.errors import QuotaError, SpellError, VerificationError

__all__ = ["InsufficientCredits", "LedgerDrift", "LedgerUnbalanced"]


class InsufficientCredits(QuotaError):
    """The prepaid balance cannot cover the estimate."""

    code = "INSUFFICIENT_CREDITS"


class LedgerUnbalanced(SpellError):
    """A ledger transaction's postings do not sum to zero (a bug; nothing was written)."""

    code = "LEDGER_UNBALANCED"


class LedgerDrift(VerificationError):
    """A running balance differs from the sum of its postings; details list the accounts."""

    code = "LEDGER_DRIFT"
