"""Tenants: found by id before by name, and an unknown one is not found."""

from __future__ import annotations

import pytest

from spell.errors import NotFound
from spell.platform.server import Platform


def test_an_unknown_tenant_is_not_found(platform: Platform) -> None:
    with platform.db.unit_of_work(write=False) as uow, pytest.raises(NotFound) as raised:
        platform.auth.tenant_members(uow, "ten_missing")
    assert raised.value.details == {"tenant_id": "ten_missing"}


def test_a_tenant_is_found_by_its_id_before_a_tenant_named_like_it(platform: Platform) -> None:
    with platform.db.unit_of_work() as uow:
        first = platform.auth.create_user(uow, email="a@example.com", roles=["caster"], tenant="first")
        named_like_it = platform.auth.create_user(
            uow, email="b@example.com", roles=["caster"], tenant=first.tenant_id
        )
    assert named_like_it.tenant_id != first.tenant_id
    with platform.db.unit_of_work(write=False) as uow:
        assert platform.auth.find_tenant(uow, first.tenant_id).id == first.tenant_id
        assert platform.auth.find_tenant(uow, "first").id == first.tenant_id
