"""Budget errors: the budget domain's leaves of the one catalog (tree in ``spell.errors``)."""

from __future__ import annotations

from spell.errors import QuotaError

__all__ = ["BudgetCapExceeded"]


class BudgetCapExceeded(QuotaError):
    """Spent + reserved + estimate would pass a budget cap."""

    code = "BUDGET_CAP_EXCEEDED"
