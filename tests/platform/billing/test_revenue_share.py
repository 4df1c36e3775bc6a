"""The operator's per-spell maker share is what later holds split with."""

from __future__ import annotations

import pytest

from spell.errors import InvalidInput
from spell.platform.billing.service import maker_share_of, set_maker_share
from spell.storage.session import Database


def test_the_share_defaults_to_80_percent_and_can_be_overridden(database: Database) -> None:
    with database.unit_of_work() as uow:
        assert maker_share_of(uow.session, "acme/x") == 8_000
        set_maker_share(uow.session, "acme/x", 9_000, operator_id="usr_ops")
        set_maker_share(uow.session, "acme/x", 9_500, operator_id="usr_ops")
    with database.unit_of_work(write=False) as uow:
        assert maker_share_of(uow.session, "acme/x") == 9_500
        assert maker_share_of(uow.session, "acme/y", default=7_000) == 7_000


def test_a_share_outside_0_to_100_percent_is_refused(database: Database) -> None:
    with pytest.raises(InvalidInput), database.unit_of_work() as uow:
        set_maker_share(uow.session, "acme/x", 10_001, operator_id=None)
