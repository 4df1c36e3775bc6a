"""Auth errors used by this domain (all from the one catalog)."""

from __future__ import annotations

from spell.errors import AuthError, UserBanned

__all__ = ["invalid_credentials", "user_banned"]


def invalid_credentials(reason: str) -> AuthError:
    """The 401 every bad credential gets; the reason is logged-safe and never echoes the secret."""
    return AuthError(
        f"invalid credentials: {reason}",
        hint="send 'Authorization: Bearer sk_live_…' or a valid JWT",
    )


def user_banned(reason: str | None) -> UserBanned:
    """The 403 a banned user gets on every route."""
    return UserBanned("this user is banned", details={"reason": reason} if reason else None)
