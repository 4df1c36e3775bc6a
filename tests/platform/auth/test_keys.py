"""API keys made by the auth service: never wider than the user's roles, expiries in a known time zone."""

from __future__ import annotations

from datetime import datetime

import pytest

from spell.errors import InvalidInput
from spell.platform.auth.errors import ScopeNotAllowed
from spell.platform.server import Platform
from tests.fixtures.server import seed_user


def test_seeding_a_key_beyond_the_roles_is_refused(platform: Platform) -> None:
    with pytest.raises(ScopeNotAllowed):
        seed_user(platform, "a@example.com", ["caster"], scopes=["admin"])


def test_the_auth_service_refuses_an_expiry_without_a_time_zone(platform: Platform) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    with platform.db.unit_of_work() as uow:
        user = platform.auth.get_user(uow, caster.user_id)
        with pytest.raises(InvalidInput) as exc:
            platform.auth.create_key(uow, user, name="k", expires_at=datetime(2030, 1, 1))  # noqa: DTZ001
    assert exc.value.details == {"field": "expires_at"}
