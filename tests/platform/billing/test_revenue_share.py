"""The operator's per-spell maker share is what later holds split with; each change is audited."""

from __future__ import annotations

import pytest

from spell.errors import InvalidInput, SpellNotFound
from spell.kit.time import utcnow
from spell.models import Publisher, Spell, Tenant
from spell.platform.audit.service import AuditService
from spell.platform.billing.revenue import RevenueShareService
from spell.storage.session import Database


def _shares(default_bps: int = 8_000) -> RevenueShareService:
    return RevenueShareService(AuditService(), default_bps=default_bps)


@pytest.fixture(autouse=True)
def grimoire(database: Database) -> None:
    """``acme/x`` and ``acme/y`` are published by the tenant ``ten_acme``."""
    now = utcnow()
    with database.unit_of_work() as uow:
        uow.session.add(Tenant(id="ten_acme", name="acme", created_at=now))
        uow.session.flush()
        uow.session.add(Publisher(name="acme", tenant_id="ten_acme", created_at=now))
        uow.session.flush()
        for name in ("x", "y"):
            uow.session.add(
                Spell(
                    id=f"acme/{name}",
                    publisher="acme",
                    tenant_id="ten_acme",
                    name=name,
                    tags=[],
                    latest_version="1.0.0",
                    created_at=now,
                    updated_at=now,
                )
            )


def test_the_share_defaults_to_80_percent_and_can_be_overridden(database: Database) -> None:
    shares = _shares()
    with database.unit_of_work() as uow:
        assert shares.share_of(uow, "acme/x") == 8_000
        shares.set(uow, "acme/x", 9_000, operator_id="usr_ops")
        assert shares.set(uow, "acme/x", 9_500, operator_id="usr_ops").maker_share_bps == 9_500
    with database.unit_of_work(write=False) as uow:
        assert shares.share_of(uow, "acme/x") == 9_500
        assert _shares(default_bps=7_000).share_of(uow, "acme/y") == 7_000


def test_each_change_is_audited_with_the_share_it_replaced(database: Database) -> None:
    shares = _shares()
    with database.unit_of_work() as uow:
        shares.set(uow, "acme/x", 9_000, operator_id="usr_ops")
        shares.set(uow, "acme/x", 9_500, operator_id=None)
    with database.unit_of_work(write=False) as uow:
        audit = AuditService()
        audit.verify(uow)
        records = audit.list(uow, action="revenue_share.changed")
    assert [(r.subject, r.tenant_id, r.actor_id, r.data) for r in records] == [
        ("acme/x", "ten_acme", "usr_ops", {"maker_share_bps": 9_000, "previous_bps": 8_000}),
        ("acme/x", "ten_acme", None, {"maker_share_bps": 9_500, "previous_bps": 9_000}),
    ]


def test_a_share_outside_0_to_100_percent_is_refused(database: Database) -> None:
    with pytest.raises(InvalidInput), database.unit_of_work() as uow:
        _shares().set(uow, "acme/x", 10_001)


def test_a_spell_the_grimoire_does_not_hold_is_refused_and_nothing_is_recorded(database: Database) -> None:
    with pytest.raises(SpellNotFound) as exc, database.unit_of_work() as uow:
        _shares().set(uow, "acme/ghost", 9_000, operator_id="usr_ops")
    assert (exc.value.code, exc.value.details) == ("SPELL_NOT_FOUND", {"spell_id": "acme/ghost"})
    with database.unit_of_work(write=False) as uow:
        assert _shares().share_of(uow, "acme/ghost") == 8_000
        assert AuditService().list(uow) == []
