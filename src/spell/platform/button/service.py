"""Managing and pressing buttons. A press never names a spell: the button fixes spell and version."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from spell.errors import (
    AlreadyExists,
    ConfirmationRequired,
    Conflict,
    InvalidInput,
    PermissionDenied,
    SpellError,
    SpellNotFound,
)
from spell.kit.clock import Clock, SystemClock
from spell.models import ROLES, Button
from spell.platform.auth.schemas import Principal
from spell.platform.button.errors import ButtonNotFound
from spell.platform.button.repository import ButtonRepository
from spell.platform.button.schemas import ButtonCreate
from spell.platform.cast.service import CastRequestBody
from spell.platform.spell.service import SpellService
from spell.storage.session import UnitOfWork

__all__ = ["ButtonCreate", "ButtonService", "read_buttons_file"]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
ANY_TENANT = "*"


class ButtonService:
    """Buttons belong to the tenant that publishes their spell."""

    def __init__(
        self, spells: SpellService, *, clock: Clock | None = None, repo: ButtonRepository | None = None
    ) -> None:
        self.spells = spells
        self.clock = clock or SystemClock()
        self.repo = repo or ButtonRepository()

    def create(self, uow: UnitOfWork, principal: Principal, data: ButtonCreate) -> Button:
        """Create a button for one of the caller's own spells, pinned to an existing version."""
        if not _ID.fullmatch(data.id):
            raise InvalidInput("button id must be 1-100 letters, digits, '.', '_' or '-'")
        bad_roles = [r for r in data.allowed_roles if r not in ROLES]
        if bad_roles:
            raise InvalidInput(f"unknown roles {bad_roles}", details={"allowed": list(ROLES)})
        spell = self.spells.owned(uow, principal, data.spell_id)
        self.spells.version(uow, spell, data.version)
        if self.repo.get(uow, principal.tenant_id, data.id) is not None:
            raise AlreadyExists(f"button {data.id!r} exists", details={"button_id": data.id})
        button = Button(
            id=data.id,
            tenant_id=principal.tenant_id,
            spell_id=spell.id,
            version=data.version,
            label=data.label or spell.name,
            allowed_roles=list(data.allowed_roles),
            allowed_tenants=list(data.allowed_tenants),
            require_signature=data.require_signature,
            require_confirmation=data.require_confirmation,
            created_at=self.clock.now(),
        )
        self.repo.add(uow, button)
        return button

    def load(self, uow: UnitOfWork, entries: list[ButtonCreate]) -> dict[str, str]:
        """Create or update operator-managed buttons, each owned by its spell's publishing tenant.

        Returns ``{button_id: "created"|"updated"|"<CODE>: message"}``; one bad entry skips only itself.
        """
        report: dict[str, str] = {}
        for data in entries:
            try:
                with uow.session.begin_nested():
                    report[data.id] = self._upsert(uow, data)
            except SpellError as exc:
                report[data.id] = f"{exc.code}: {exc.message}"
        return report

    def _upsert(self, uow: UnitOfWork, data: ButtonCreate) -> str:
        if not _ID.fullmatch(data.id):
            raise InvalidInput("button id must be 1-100 letters, digits, '.', '_' or '-'")
        spell = self.spells.repo.spell(uow, data.spell_id)
        if spell is None:
            raise SpellNotFound(f"no spell {data.spell_id!r}")
        self.spells.version(uow, spell, data.version)
        values = {
            "tenant_id": spell.tenant_id,
            "spell_id": spell.id,
            "version": data.version,
            "label": data.label or spell.name,
            "allowed_roles": list(data.allowed_roles),
            "allowed_tenants": list(data.allowed_tenants),
            "require_signature": data.require_signature,
            "require_confirmation": data.require_confirmation,
        }
        button = self.repo.get(uow, spell.tenant_id, data.id)
        if button is None:
            self.repo.add(uow, Button(id=data.id, created_at=self.clock.now(), **values))
            return "created"
        for key, value in values.items():
            setattr(button, key, value)
        self.repo.flush(uow)
        return "updated"

    def visible(self, uow: UnitOfWork, principal: Principal) -> list[Button]:
        """Buttons of the caller's tenant and buttons shared with it."""
        return [b for b in self.repo.everyone(uow) if _tenant_allowed(b, principal)]

    def get(self, uow: UnitOfWork, principal: Principal, button_id: str) -> Button:
        """A button the caller's tenant may see: its own of that id first, else the one shared with it.

        ``<tenant id>:<button id>`` names a shared button exactly, for when several tenants share
        buttons of the same id (a bare id is then ambiguous: ``CONFLICT``).
        """
        missing = ButtonNotFound(f"no button {button_id!r}", details={"button_id": button_id})
        owner, _, bare = button_id.rpartition(":")
        if owner:
            button = self.repo.get(uow, owner, bare)
            if button is None or not _tenant_allowed(button, principal):
                raise missing
            return button
        own = self.repo.get(uow, principal.tenant_id, button_id)
        if own is not None:
            return own
        shared = [b for b in self.repo.with_id(uow, button_id) if _tenant_allowed(b, principal)]
        if not shared:
            raise missing
        if len(shared) > 1:
            raise Conflict(
                f"several tenants share a button {button_id!r} with you",
                details={"button_id": button_id},
                hint="press it as <owner tenant id>:<button id>",
            )
        return shared[0]

    def delete(self, uow: UnitOfWork, principal: Principal, button_id: str) -> None:
        """Remove one of the caller's tenant's buttons (another tenant's, shared or not, is not found)."""
        principal.require("spell:publish")
        button = self.repo.get(uow, principal.tenant_id, button_id)
        if button is None:
            raise ButtonNotFound(f"no button {button_id!r}", details={"button_id": button_id})
        self.repo.delete(uow, button)

    def press(
        self, uow: UnitOfWork, principal: Principal, button_id: str, *, input: Any, confirmed: bool
    ) -> CastRequestBody:
        """The cast a press asks for: the button's fixed spell@version and signature rule, in the button
        owner's tenant; refused for roles the button does not allow or a missing confirmation."""
        button = self.get(uow, principal, button_id)
        self.check_press(button, principal, confirmed=confirmed)
        return CastRequestBody(
            spell_id=button.spell_id,
            input=input,
            version=button.version,
            button_id=button.id,
            require_signature=button.require_signature,
            as_tenant=button.tenant_id,
        )

    def check_press(self, button: Button, principal: Principal, *, confirmed: bool) -> None:
        """Roles and confirmation of a press (tenant visibility was checked by ``get``)."""
        if button.allowed_roles and not principal.has_role(*button.allowed_roles):
            raise PermissionDenied(
                f"your roles may not press button {button.id!r}",
                details={"allowed_roles": list(button.allowed_roles)},
            )
        if button.require_confirmation and not confirmed:
            raise ConfirmationRequired(
                f"button {button.id!r} needs confirmation", hint='send {"confirm": true} with the press'
            )


def read_buttons_file(path: Path) -> list[ButtonCreate]:
    """Parse a buttons file: ``{"buttons": [{"id", "spell_id", "version", …}]}`` (JSON)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read the buttons file {path}: {exc}") from exc
    entries = raw.get("buttons") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise InvalidInput(f'{path} must hold {{"buttons": [...]}}')
    fields = {
        "id",
        "spell_id",
        "version",
        "label",
        "allowed_roles",
        "allowed_tenants",
        "require_signature",
        "require_confirmation",
    }
    out: list[ButtonCreate] = []
    for index, entry in enumerate(entries):
        if (
            not isinstance(entry, dict)
            or not {"id", "spell_id", "version"} <= set(entry)
            or set(entry) - fields
        ):
            raise InvalidInput(
                f"buttons[{index}] needs id, spell_id, version and only known fields",
                details={"index": index, "fields": sorted(fields)},
            )
        values = dict(entry)
        for key in ("allowed_roles", "allowed_tenants"):
            values[key] = tuple(values.get(key, ()))
        out.append(ButtonCreate(**values))
    return out


def _tenant_allowed(button: Button, principal: Principal) -> bool:
    return (
        button.tenant_id == principal.tenant_id
        or ANY_TENANT in button.allowed_tenants
        or principal.tenant_id in button.allowed_tenants
    )
