"""Turn a bearer credential (an API key or a JWT) into a principal: what the REST API does for every
request and the console does once, when someone signs in."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from spell.errors import AuthError
from spell.platform.auth.jwt import JwtVerifier
from spell.platform.auth.schemas import Principal
from spell.platform.auth.service import AuthService
from spell.storage.session import Database

__all__ = ["authenticate_bearer", "is_api_key"]


def is_api_key(token: str) -> bool:
    """True when ``token`` has the shape of an API key secret (``sk_live_…`` / ``sk_test_…``)."""
    return token.startswith(("sk_live_", "sk_test_"))


def authenticate_bearer(
    db: Database, auth: AuthService, verifier: JwtVerifier | None, token: str
) -> Principal:
    """The principal of an API key or (when a verifier is configured) a JWT; ``UNAUTHORIZED`` or
    ``USER_BANNED`` otherwise. Blocking: runs its own units of work."""
    if is_api_key(token):
        with db.unit_of_work(write=False) as uow:
            principal = auth.authenticate_key(uow, token)
        if principal.key_stale and principal.key_id:
            with db.unit_of_work() as uow:
                auth.touch_key(uow, principal.key_id)
        return principal
    if verifier is None:
        raise AuthError("bearer token is not an API key and JWT auth is not configured")
    try:
        with db.unit_of_work() as uow:
            return verifier.authenticate(uow, auth, token)
    except IntegrityError:
        # A concurrent first request of the same user or org provisioned it first: use theirs.
        with db.unit_of_work() as uow:
            return verifier.authenticate(uow, auth, token)
