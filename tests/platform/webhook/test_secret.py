"""Each tenant's webhook signing secret is created once, even when two requests race to create it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from spell.platform.server import Platform
from tests.fixtures.server import seed_user


def _tenant_with_a_secret(platform: Platform) -> tuple[str, list[str]]:
    """A tenant whose secret another request created and committed: its id and signing secrets."""
    caller = seed_user(platform, "a@example.com", ["caster"])
    with platform.db.unit_of_work() as uow:
        return caller.tenant_id, platform.webhook_secrets.ensure_signing_secrets(uow, caller.tenant_id)


def test_the_loser_of_a_race_to_create_a_tenants_secret_uses_the_winners(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant_id, winner = _tenant_with_a_secret(platform)
    with platform.db.unit_of_work() as uow:
        real_get = uow.session.get
        hidden: list[bool] = []

        def get_missing_once(*args: Any, **kwargs: Any) -> Any:
            if not hidden:  # as if the winner committed just after this lookup
                hidden.append(True)
                return None
            return real_get(*args, **kwargs)

        monkeypatch.setattr(uow.session, "get", get_missing_once)
        assert platform.webhook_secrets.ensure_signing_secrets(uow, tenant_id) == winner


def test_an_integrity_error_that_is_no_race_is_raised_not_retried_forever(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant_id, _ = _tenant_with_a_secret(platform)
    with platform.db.unit_of_work() as uow:
        monkeypatch.setattr(uow.session, "get", lambda *args, **kwargs: None)  # never sees the row
        with pytest.raises(IntegrityError):
            platform.webhook_secrets.ensure_signing_secrets(uow, tenant_id)
        uow.session.rollback()
