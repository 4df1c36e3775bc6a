"""Console sessions: only the secret's hash is stored, and every resume checks the key and the user
again; a revoked or expired key, a ban or the session's own expiry ends it for good."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from spell.errors import AuthError
from spell.kit.clock import FakeClock
from spell.models import User, WebSession
from spell.platform.auth.errors import UserBanned
from spell.platform.auth.schemas import Principal
from spell.platform.auth.web_sessions import WebSessions
from spell.platform.server import Platform
from tests.fixtures.server import Caller, seed_user


def _principal(platform: Platform, caller: Caller) -> Principal:
    with platform.db.unit_of_work(write=False) as uow:
        return platform.auth.authenticate_key(uow, caller.token)


def _sessions(platform: Platform, clock: FakeClock | None = None) -> WebSessions:
    return WebSessions(platform.secret, ttl=timedelta(hours=1), clock=clock)


def _resume(platform: Platform, sessions: WebSessions, secret: str) -> Principal:
    with platform.db.unit_of_work(write=False) as uow:
        return sessions.resume(uow, secret).principal


def test_a_session_keeps_the_keys_identity_and_scopes_but_never_its_secret(platform: Platform) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"], scopes=["spell:read"])
    sessions = _sessions(platform)
    with platform.db.unit_of_work() as uow:
        started = sessions.start(uow, _principal(platform, caster))
    resumed = _resume(platform, sessions, started.secret)
    assert (resumed.user_id, resumed.tenant_id, resumed.scopes) == (
        caster.user_id,
        caster.tenant_id,
        ("spell:read",),
    )
    assert resumed.key_id is not None
    with platform.db.unit_of_work(write=False) as uow:
        row = uow.session.scalars(select(WebSession)).one()
        assert started.secret not in (row.secret_hash, row.id, row.csrf_token)
    with pytest.raises(AuthError) as refused, platform.db.unit_of_work(write=False) as uow:
        sessions.resume(uow, started.secret + "x")
    assert refused.value.code == "UNAUTHORIZED"


def test_a_revoked_key_ends_its_sessions(platform: Platform) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    principal = _principal(platform, caster)
    sessions = _sessions(platform)
    with platform.db.unit_of_work() as uow:
        started = sessions.start(uow, principal)
    with platform.db.unit_of_work() as uow:
        assert principal.key_id is not None
        platform.auth.revoke_key(uow, principal, principal.key_id)
    with pytest.raises(AuthError) as refused:
        _resume(platform, sessions, started.secret)
    assert refused.value.code == "UNAUTHORIZED"


def test_a_ban_ends_the_session_and_lifting_it_does_not_bring_it_back(platform: Platform) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    sessions = _sessions(platform)
    with platform.db.unit_of_work() as uow:
        started = sessions.start(uow, _principal(platform, caster))
    with platform.db.unit_of_work() as uow:
        platform.auth.set_ban(uow, caster.user_id, banned=True, reason="abuse")
    with pytest.raises(UserBanned) as refused:
        _resume(platform, sessions, started.secret)
    assert refused.value.code == "USER_BANNED"
    with platform.db.unit_of_work() as uow:  # what the console does after that refusal
        sessions.end(uow, started.secret)
        platform.auth.set_ban(uow, caster.user_id, banned=False)
    with pytest.raises(AuthError):
        _resume(platform, sessions, started.secret)


def test_a_session_expires_on_its_clock_and_expired_rows_are_swept(platform: Platform) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    clock = FakeClock(datetime.now(UTC))
    sessions = _sessions(platform, clock)
    with platform.db.unit_of_work() as uow:
        started = sessions.start(uow, _principal(platform, caster))
    clock.advance(3599)
    assert _resume(platform, sessions, started.secret).user_id == caster.user_id
    clock.advance(1)
    with pytest.raises(AuthError) as refused:
        _resume(platform, sessions, started.secret)
    assert refused.value.code == "UNAUTHORIZED"
    with platform.db.unit_of_work() as uow:
        assert sessions.end_expired(uow) == 1


def test_a_role_taken_away_takes_its_scopes_from_open_sessions(platform: Platform) -> None:
    maker = seed_user(platform, "m@example.com", ["maker"])
    sessions = _sessions(platform)
    with platform.db.unit_of_work() as uow:
        started = sessions.start(uow, _principal(platform, maker))
    assert "spell:publish" in _resume(platform, sessions, started.secret).scopes
    with platform.db.unit_of_work() as uow:
        user = uow.session.get(User, maker.user_id)
        assert user is not None
        user.roles = ["caster"]
    assert "spell:publish" not in _resume(platform, sessions, started.secret).scopes


def test_csrf_tokens_compare_exactly() -> None:
    assert WebSessions.csrf_matches("abc", "abc")
    assert not WebSessions.csrf_matches("abc", "abd")
    assert not WebSessions.csrf_matches("abc", None)
    assert not WebSessions.csrf_matches("abc", "")
