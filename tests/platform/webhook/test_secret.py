"""Each tenant's webhook signing secret is created once, even when two requests race to create it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from spell.platform.server import Platform
from tests.fixtures.server import seed_user


def test_the_loser_of_a_race_to_create_a_tenants_secret_uses_the_winners(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    caller = seed_user(platform, "a@example.com", ["caster"])
    service = platform.webhook_secrets
    with platform.db.unit_of_work() as uow:
        winner = service.ensure_signing_secrets(uow, caller.tenant_id)
    with platform.db.unit_of_work() as uow:
        real_get = uow.session.get
        hidden: list[bool] = []

        def get_missing_once(*args: Any, **kwargs: Any) -> Any:
            if not hidden:  # as if the winner committed just after this lookup
                hidden.append(True)
                return None
            return real_get(*args, **kwargs)

        monkeypatch.setattr(uow.session, "get", get_missing_once)
        assert service.ensure_signing_secrets(uow, caller.tenant_id) == winner


def test_an_integrity_error_that_is_no_race_is_raised_not_retried_forever(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    caller = seed_user(platform, "a@example.com", ["caster"])
    service = platform.webhook_secrets
    with platform.db.unit_of_work() as uow:
        service.ensure_signing_secrets(uow, caller.tenant_id)
    with platform.db.unit_of_work() as uow:
        monkeypatch.setattr(uow.session, "get", lambda *args, **kwargs: None)  # never sees the row
        with pytest.raises(IntegrityError):
            service.ensure_signing_secrets(uow, caller.tenant_id)
        uow.session.rollback()
