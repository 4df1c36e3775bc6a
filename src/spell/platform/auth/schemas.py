"""The authenticated caller, the scope vocabulary and what each role may hold."""

from __future__ import annotations

from dataclasses import dataclass

from spell.errors import PermissionDenied
from spell.platform.auth.errors import RoleRequired

__all__ = [
    "ALL_SCOPES",
    "OPT_IN_SCOPES",
    "Principal",
    "default_scopes_for_roles",
    "scopes_for_roles",
]

ALL_SCOPES = (
    "cast:invoke",
    "spell:read",
    "spell:publish",
    "keys:manage",
    "audit:read",
    "operator",
    "admin",
)
# Only admins may hold it, and even their keys get it only when it is asked for by name.
OPT_IN_SCOPES = ("admin",)

_ROLE_SCOPES: dict[str, tuple[str, ...]] = {
    "caster": ("cast:invoke", "spell:read", "keys:manage"),
    "maker": ("cast:invoke", "spell:read", "spell:publish", "keys:manage"),
    "operator": ("cast:invoke", "spell:read", "keys:manage", "audit:read", "operator"),
    "auditor": ("spell:read", "audit:read"),
    "admin": ALL_SCOPES,
}


def scopes_for_roles(roles: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Every scope the given roles allow: what a JWT principal gets, and the most any key may carry."""
    granted = {scope for role in roles for scope in _ROLE_SCOPES.get(role, ())}
    return tuple(scope for scope in ALL_SCOPES if scope in granted)


def default_scopes_for_roles(roles: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The scopes of a key created without naming any: the roles' scopes but ``admin``."""
    return tuple(scope for scope in scopes_for_roles(roles) if scope not in OPT_IN_SCOPES)


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

    def require_role(self, *roles: str) -> None:
        """Raise ``ROLE_REQUIRED`` unless the user holds one of ``roles``."""
        if not self.has_role(*roles):
            raise RoleRequired(
                f"this needs the {' or '.join(roles)} role",
                details={"required_roles": list(roles), "roles": list(self.roles)},
                hint="the operator grants roles (spell admin create-user --role ...)",
            )

    def require_operator(self) -> None:
        """Platform-wide moderation: an admin credential, or an operator with the ``operator`` scope."""
        if self.is_admin:
            return
        self.require_role("operator", "admin")
        self.require("operator")

    def has_role(self, *roles: str) -> bool:
        """True when the user holds any of ``roles``."""
        return any(role in self.roles for role in roles)

    @property
    def is_admin(self) -> bool:
        """True for admins using a credential with the ``admin`` scope."""
        return "admin" in self.roles and "admin" in self.scopes
