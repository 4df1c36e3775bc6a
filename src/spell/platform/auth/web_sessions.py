"""Console sessions: a signed-in browser's server-side record.

The cookie carries a random secret; the table keeps only its keyed hash (as for API keys), so a
database leak signs nobody in. Every request resumes the session against the current state of its
user and key: a revoked or expired key, a banned user or a past expiry ends it (the row is deleted,
so lifting a ban later does not bring it back). Its scopes are those it was made with, narrowed to
what the user's roles allow now, exactly as a key's are.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select

from spell.kit.clock import Clock, SystemClock
from spell.kit.ids import new_id
from spell.models import ApiKey, User, WebSession
from spell.platform.auth.errors import invalid_credentials, user_banned
from spell.platform.auth.keys import hash_secret
from spell.platform.auth.schemas import Principal, scopes_for_roles
from spell.storage.session import UnitOfWork

__all__ = ["ResumedSession", "StartedSession", "WebSessions"]


@dataclass(frozen=True)
class StartedSession:
    """A new session row and the secret for the cookie (never stored)."""

    session: WebSession
    secret: str


@dataclass(frozen=True)
class ResumedSession:
    """The principal of a live session and its CSRF token."""

    principal: Principal
    session_id: str
    csrf_token: str


class WebSessions:
    """Start, resume and end console sessions; every method takes the caller's unit of work."""

    def __init__(self, secret_key: str, *, ttl: timedelta, clock: Clock | None = None) -> None:
        self._secret_key = secret_key
        self.ttl = ttl
        self.clock = clock or SystemClock()

    def _hash(self, secret: str) -> str:
        return hash_secret(self._secret_key, "web-session:" + secret)

    def start(self, uow: UnitOfWork, principal: Principal) -> StartedSession:
        """A session for an authenticated principal, with the scopes of the credential it showed."""
        secret = secrets.token_urlsafe(32)
        now = self.clock.now()
        row = WebSession(
            id=new_id("wss"),
            secret_hash=self._hash(secret),
            user_id=principal.user_id,
            tenant_id=principal.tenant_id,
            key_id=principal.key_id,
            scopes=list(principal.scopes),
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + self.ttl,
        )
        uow.session.add(row)
        uow.session.flush()
        return StartedSession(row, secret)

    def resume(self, uow: UnitOfWork, secret: str) -> ResumedSession:
        """The live session of ``secret``; ``UNAUTHORIZED`` (or ``USER_BANNED``) when it is unknown or
        must end. The caller then calls ``end`` in a transaction of its own, which this one's error
        rolls back."""
        row = uow.session.scalar(select(WebSession).where(WebSession.secret_hash == self._hash(secret)))
        if row is None:
            raise invalid_credentials("unknown session")
        now = self.clock.now()
        if row.expires_at <= now:
            raise invalid_credentials("session expired")
        user = uow.session.get(User, row.user_id)
        if user is None:
            raise invalid_credentials("unknown session")
        if user.is_banned:
            raise user_banned(user.ban_reason)
        if row.key_id is not None:
            key = uow.session.get(ApiKey, row.key_id)
            if key is None or key.revoked_at is not None:
                raise invalid_credentials("the key of this session was revoked")
            if key.expires_at is not None and key.expires_at <= now:
                raise invalid_credentials("the key of this session expired")
        roles = tuple(user.roles)
        allowed = scopes_for_roles(roles)
        principal = Principal(
            user_id=user.id,
            tenant_id=row.tenant_id,
            roles=roles,
            scopes=tuple(scope for scope in row.scopes if scope in allowed),
            key_id=row.key_id,
        )
        return ResumedSession(principal, row.id, row.csrf_token)

    def end(self, uow: UnitOfWork, secret: str) -> None:
        """Forget the session of ``secret`` (sign-out, or a session ``resume`` refused)."""
        uow.session.execute(delete(WebSession).where(WebSession.secret_hash == self._hash(secret)))

    def end_expired(self, uow: UnitOfWork) -> int:
        """Delete every expired session; how many there were."""
        result = uow.session.execute(delete(WebSession).where(WebSession.expires_at <= self.clock.now()))
        return int(getattr(result, "rowcount", 0) or 0)

    @staticmethod
    def csrf_matches(expected: str, given: str | None) -> bool:
        """Constant-time comparison of a form's or header's CSRF token with the session's."""
        return given is not None and hmac.compare_digest(expected.encode(), given.encode())
