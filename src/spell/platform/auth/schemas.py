"""The authenticated caller, the scope vocabulary, what each role may hold, and the wire shapes of
users, tenants, keys and bans."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import AwareDatetime, BaseModel, Field

from spell.errors import PermissionDenied
from spell.kit.wire import Rfc3339, Rfc3339OrNone, RowModel
from spell.platform.auth.errors import RoleRequired

if TYPE_CHECKING:  # rows are only read here: the SDK imports these shapes without the database models
    from spell.models import ApiKey, Tenant, User

__all__ = [
    "ALL_SCOPES",
    "CAST_READ_SCOPES",
    "OPT_IN_SCOPES",
    "BanCreate",
    "BanOut",
    "KeyCreate",
    "KeyCreated",
    "KeyList",
    "KeyOut",
    "MeOut",
    "MemberOut",
    "Principal",
    "TenantOut",
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
# Casts carry their inputs and outputs: reading them takes the right to cast, or to audit.
CAST_READ_SCOPES = ("cast:invoke", "audit:read")
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

    def require_any(self, *scopes: str) -> None:
        """Raise ``FORBIDDEN`` unless this credential carries one of ``scopes``."""
        if not any(scope in self.scopes for scope in scopes):
            raise PermissionDenied(
                f"this credential lacks the {' or '.join(repr(s) for s in scopes)} scope",
                details={"required_scopes": list(scopes)},
                hint="create a key with one of them (spell keys create --scope ...)",
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


# Wire shapes ---------------------------------------------------------------------------------------


class MeOut(BaseModel):
    """The caller."""

    user_id: str
    email: str | None
    tenant_id: str
    roles: list[str]
    scopes: list[str]
    key_id: str | None

    @classmethod
    def from_principal(cls, principal: Principal, user: User) -> MeOut:
        """The principal of this request and its user row."""
        return cls(
            user_id=user.id,
            email=user.email,
            tenant_id=principal.tenant_id,
            roles=list(principal.roles),
            scopes=list(principal.scopes),
            key_id=principal.key_id,
        )


class MemberOut(BaseModel):
    """A user of the caller's tenant."""

    user_id: str
    email: str | None
    roles: list[str]
    banned: bool
    joined_at: Rfc3339

    @classmethod
    def from_row(cls, user: User) -> MemberOut:
        """A user row as a member."""
        return cls(
            user_id=user.id,
            email=user.email,
            roles=list(user.roles),
            banned=user.is_banned,
            joined_at=user.created_at,
        )


class TenantOut(BaseModel):
    """The caller's tenant (organization) and its members."""

    id: str
    name: str
    created_at: Rfc3339
    members: list[MemberOut]

    @classmethod
    def from_rows(cls, tenant: Tenant, members: list[User]) -> TenantOut:
        """A tenant row and its users."""
        return cls(
            id=tenant.id,
            name=tenant.name,
            created_at=tenant.created_at,
            members=[MemberOut.from_row(user) for user in members],
        )


class KeyCreate(BaseModel):
    """A new key's name, scopes and optional expiry."""

    name: str = Field(default="default", min_length=1, max_length=200)
    scopes: list[str] | None = None
    expires_at: AwareDatetime | None = Field(default=None, description="RFC 3339 with Z or an offset")
    test: bool = Field(default=False, strict=True)  # JSON true or false: 1 or "yes" is refused


class KeyOut(RowModel):
    """An API key without its secret."""

    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: Rfc3339
    expires_at: Rfc3339OrNone
    revoked_at: Rfc3339OrNone
    last_used_at: Rfc3339OrNone
    rotated_to: str | None


class KeyCreated(KeyOut):
    """A new key with its secret, shown only in this response."""

    token: str

    @classmethod
    def from_created(cls, key: ApiKey, token: str) -> KeyCreated:
        """A key just made and its secret."""
        return cls(**KeyOut.from_row(key).model_dump(), token=token)


class KeyList(BaseModel):
    """The caller's keys."""

    items: list[KeyOut]


class BanCreate(BaseModel):
    """Who to ban and why."""

    user_id: str = Field(min_length=1, max_length=320)
    reason: str | None = Field(default=None, max_length=500)


class BanOut(BaseModel):
    """A user's ban state."""

    user_id: str
    is_banned: bool
    reason: str | None = None

    @classmethod
    def from_row(cls, user: User) -> BanOut:
        """A user's ban state as its row holds it."""
        return cls(user_id=user.id, is_banned=user.is_banned, reason=user.ban_reason)
