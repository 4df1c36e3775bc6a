"""The authenticated caller and the scope vocabulary."""

from __future__ import annotations

from dataclasses import dataclass

from spell.errors import PermissionDenied

__all__ = ["ALL_SCOPES", "DEFAULT_KEY_SCOPES", "Principal", "scopes_for_roles"]

ALL_SCOPES = ("cast:invoke", "spell:read", "spell:publish", "keys:manage", "audit:read", "admin")
DEFAULT_KEY_SCOPES = ("cast:invoke", "spell:read", "spell:publish", "keys:manage")

_ROLE_SCOPES: dict[str, tuple[str, ...]] = {
    "caster": ("cast:invoke", "spell:read", "keys:manage"),
    "maker": ("cast:invoke", "spell:read", "spell:publish", "keys:manage"),
    "operator": ("cast:invoke", "spell:read", "keys:manage", "audit:read"),
    "auditor": ("spell:read", "audit:read"),
    "admin": ALL_SCOPES,
}


def scopes_for_roles(roles: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Every scope the given roles grant (what a JWT principal gets; keys are narrowed by their scopes)."""
    granted = {scope for role in roles for scope in _ROLE_SCOPES.get(role, ())}
    return tuple(scope for scope in ALL_SCOPES if scope in granted)


@dataclass(frozen=True)
class Principal:
    """Who is calling: user, tenant, roles, the scopes of this credential, and which key (if any)."""

    user_id: str
    tenant_id: str
    roles: tuple[str, ...]
    scopes: tuple[str, ...]
    key_id: str | None = None
    key_stale: bool = False  # the key's last-used time is due for an update

    def require(self, scope: str) -> None:
        """Raise ``FORBIDDEN`` unless this credential carries ``scope``."""
        if scope not in self.scopes:
            raise PermissionDenied(
                f"this credential lacks the {scope!r} scope",
                details={"required_scope": scope},
                hint="create a key with that scope (spell keys create --scope ...)",
            )

    def has_role(self, *roles: str) -> bool:
        """True when the user holds any of ``roles``."""
        return any(role in self.roles for role in roles)

    @property
    def is_admin(self) -> bool:
        """True for admins using a credential with the ``admin`` scope."""
        return "admin" in self.roles and "admin" in self.scopes
