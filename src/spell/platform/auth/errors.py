"""Auth errors: the auth domain's leaves of the one catalog (tree in ``spell.errors``) and the
constructors of the 401 and 403 every route shares."""

from __future__ import annotations

from spell.errors import AuthError, Conflict, NotFound, PermissionDenied

__all__ = [
    "CsrfRefused",
    "RoleRequired",
    "ScopeNotAllowed",
    "TenantAlreadyBound",
    "TenantNotFound",
    "UserBanned",
    "invalid_credentials",
    "user_banned",
]


class UserBanned(PermissionDenied):
    """The caller is banned."""

    code = "USER_BANNED"


class RoleRequired(PermissionDenied):
    """The user lacks the role the action needs (e.g. publishing needs ``maker``)."""

    code = "ROLE_REQUIRED"


class ScopeNotAllowed(PermissionDenied):
    """A key was asked for scopes beyond the calling credential's or the user's roles'."""

    code = "SCOPE_NOT_ALLOWED"


class CsrfRefused(PermissionDenied):
    """A console form or request that changes something came without the session's CSRF token, or
    from another origin."""

    code = "CSRF_REFUSED"


class TenantNotFound(NotFound):
    """No tenant with that id or name."""

    code = "TENANT_NOT_FOUND"


class TenantAlreadyBound(Conflict):
    """The issuer and org pair already names a tenant, or the tenant is bound to another pair."""

    code = "TENANT_ALREADY_BOUND"


def invalid_credentials(reason: str) -> AuthError:
    """The 401 every bad credential gets; the reason is logged-safe and never echoes the secret."""
    return AuthError(
        f"invalid credentials: {reason}",
        hint="send 'Authorization: Bearer sk_live_…' or a valid JWT",
    )


def user_banned(reason: str | None) -> UserBanned:
    """The 403 a banned user gets on every route."""
    return UserBanned("this user is banned", details={"reason": reason} if reason else None)
