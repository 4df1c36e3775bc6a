"""Wire shapes of budgets: caps in integer micro-units, ``null`` meaning no cap."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from spell.kit.money import MAX_MICROS

if TYPE_CHECKING:  # the SDK reads these schemas without the database models
    from spell.models.budget import Budget

__all__ = ["BudgetCaps", "BudgetView", "WindowUsage"]


class BudgetCaps(BaseModel):
    """The caps a caster sets with ``PUT /v1/budget``: JSON integers (``false`` or ``2.0`` is refused)."""

    model_config = ConfigDict(extra="forbid")

    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    per_cast_micros: int | None = Field(default=None, ge=0, le=MAX_MICROS, strict=True)
    daily_micros: int | None = Field(default=None, ge=0, le=MAX_MICROS, strict=True)
    monthly_micros: int | None = Field(default=None, ge=0, le=MAX_MICROS, strict=True)
    total_micros: int | None = Field(default=None, ge=0, le=MAX_MICROS, strict=True)

    @classmethod
    def from_row(cls, budget: Budget) -> BudgetCaps:
        """The caps a budget row holds."""
        return cls(
            currency=budget.currency,
            per_cast_micros=budget.per_cast_micros,
            daily_micros=budget.daily_micros,
            monthly_micros=budget.monthly_micros,
            total_micros=budget.total_micros,
        )


class WindowUsage(BaseModel):
    """Spent and reserved amounts in one window, with its cap and reset time."""

    window: str
    cap_micros: int | None
    spent_micros: int
    reserved_micros: int
    resets_in_seconds: int | None


class BudgetView(BaseModel):
    """A caster's caps, current window usage and prepaid balance."""

    caps: BudgetCaps
    windows: list[WindowUsage]
    balance_micros: int
    currency: str
