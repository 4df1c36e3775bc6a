"""What the abuse tests share: a platform on a fake clock with a low threshold, and readers of the
violations, audit records and notices it wrote."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from spell.config.abuse import AbuseSettings
from spell.config.server import ServerSettings
from spell.kit.clock import FakeClock
from spell.models import AuditRecord, PolicyViolation, SupplyNotice
from spell.platform.server import Platform
from spell.runtimes.base import Runtime
from spell.storage.session import Database

__all__ = [
    "THRESHOLD",
    "abuse_settings",
    "audits",
    "clock",
    "notices",
    "platform",
    "server_settings",
    "violations",
]

THRESHOLD = 3


@pytest.fixture
def clock() -> FakeClock:
    """The platform's clock, moved only by the test (at the start of a minute, so storms count whole)."""
    return FakeClock(datetime.now(UTC).replace(second=0, microsecond=0))


@pytest.fixture
def abuse_settings() -> AbuseSettings:
    """Three violations within a day suspend; three refusals within a minute are a storm."""
    return AbuseSettings(suspend_threshold=THRESHOLD, window_hours=24, storm_refusals=3)


@pytest.fixture
def server_settings(tmp_path: Path, database_url: str) -> ServerSettings:
    """A test server whose maker webhooks may reach a local receiver."""
    return ServerSettings.for_home(
        tmp_path / "home",
        database_url=database_url,
        secret_key="abuse-secret",
        workers=2,
        allow_private_webhooks=True,
        rate_limit_per_minute=100_000,
        tenant_rate_limit_per_minute=100_000,
    )


@pytest.fixture
def platform(
    server_settings: ServerSettings,
    database: Database,
    runtimes: dict[str, Runtime],
    clock: FakeClock,
    abuse_settings: AbuseSettings,
) -> Iterator[Platform]:
    """A started platform on the fake clock with the tests' abuse settings."""
    built = Platform.build(
        server_settings, runtimes=runtimes, database=database, clock=clock, abuse=abuse_settings
    )
    built.start()
    yield built
    built.stop()


def violations(platform: Platform) -> list[PolicyViolation]:
    """Every violation, oldest first."""
    with platform.db.unit_of_work(write=False) as uow:
        rows = list(
            uow.session.scalars(
                select(PolicyViolation).order_by(PolicyViolation.created_at, PolicyViolation.id)
            )
        )
        uow.session.expunge_all()
        return rows


def audits(platform: Platform, action: str) -> list[AuditRecord]:
    """The audit records of ``action``, in chain order."""
    with platform.db.unit_of_work(write=False) as uow:
        rows = list(
            uow.session.scalars(
                select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.seq)
            )
        )
        uow.session.expunge_all()
        return rows


def notices(platform: Platform) -> list[SupplyNotice]:
    """Every notice to a maker."""
    with platform.db.unit_of_work(write=False) as uow:
        rows = list(
            uow.session.scalars(select(SupplyNotice).order_by(SupplyNotice.created_at, SupplyNotice.id))
        )
        uow.session.expunge_all()
        return rows
