"""Buttons on the wire (create, press, show) and the service's own input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from spell.kit.wire import Rfc3339, RowModel

__all__ = ["ButtonBody", "ButtonCreate", "ButtonList", "ButtonOut", "PressBody"]


@dataclass(frozen=True)
class ButtonCreate:
    """A new button, from the API or the operator's buttons file."""

    id: str
    spell_id: str
    version: str
    label: str = ""
    allowed_roles: tuple[str, ...] = ()
    allowed_tenants: tuple[str, ...] = ()
    require_signature: bool = True
    require_confirmation: bool = False


class ButtonBody(BaseModel):
    """A button: which spell and version, who may press it, and how."""

    id: str = Field(min_length=1, max_length=100)
    spell_id: str = Field(min_length=3, max_length=200)
    version: str = Field(min_length=1, max_length=50)
    label: str = Field(default="", max_length=200)
    allowed_roles: list[str] = Field(default_factory=list)
    allowed_tenants: list[str] = Field(
        default_factory=list, description='Tenant ids, or "*" for every tenant.'
    )
    require_signature: bool = Field(default=True, strict=True)
    require_confirmation: bool = Field(default=False, strict=True)

    def to_create(self) -> ButtonCreate:
        """The service's input."""
        return ButtonCreate(
            id=self.id,
            spell_id=self.spell_id,
            version=self.version,
            label=self.label,
            allowed_roles=tuple(self.allowed_roles),
            allowed_tenants=tuple(self.allowed_tenants),
            require_signature=self.require_signature,
            require_confirmation=self.require_confirmation,
        )


class PressBody(BaseModel):
    """The input for the button's spell, and the confirmation when the button asks for one."""

    input: Any = Field(default_factory=dict)
    confirm: bool = Field(default=False, strict=True)


class ButtonOut(RowModel):
    """A button."""

    id: str
    spell_id: str
    version: str
    label: str
    allowed_roles: list[str]
    allowed_tenants: list[str]
    require_signature: bool
    require_confirmation: bool
    created_at: Rfc3339


class ButtonList(BaseModel):
    """Buttons the caller may see."""

    items: list[ButtonOut]
