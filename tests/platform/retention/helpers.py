"""Seeding for the retention tests: callers, a spell, ended casts with logs, artifacts, old audit records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from spell.config.retention import RetentionSettings
from spell.config.server import ServerSettings
from spell.kit.canonical_json import canonical_sha256
from spell.kit.clock import FakeClock
from spell.kit.ids import new_id
from spell.models import Artifact, Cast, CastEvent, Publisher, Spell
from spell.platform.server import Platform
from spell.storage.session import Database

__all__ = ["DAY", "Caster", "add_artifact", "audit_at", "build", "ended_cast", "seed_caster"]

DAY = 86_400.0


@dataclass(frozen=True)
class Caster:
    """A user, its tenant and a spell it casts (of a publisher in the same tenant)."""

    user_id: str
    tenant_id: str
    spell_id: str


def build(settings: ServerSettings, database: Database, clock: FakeClock, **retention: Any) -> Platform:
    """A platform that is not started (nothing runs on its own), small batches to make them many."""
    periods = RetentionSettings(**{"batch_size": 2, **retention})
    return Platform.build(settings, runtimes={}, database=database, clock=clock, retention=periods)


def seed_caster(platform: Platform, name: str) -> Caster:
    """A user in a tenant of its own, publishing ``<name>/echo``."""
    now = platform.audit.clock.now()
    with platform.db.unit_of_work() as uow:
        user = platform.auth.create_user(uow, email=f"{name}@example.com", roles=["caster"], tenant=name)
        uow.session.add(Publisher(name=name, tenant_id=user.tenant_id, created_at=now))
        uow.session.flush()
        uow.session.add(
            Spell(
                id=f"{name}/echo",
                publisher=name,
                tenant_id=user.tenant_id,
                name="echo",
                tags=[],
                latest_version="1.0.0",
                created_at=now,
                updated_at=now,
            )
        )
        return Caster(user.id, user.tenant_id, f"{name}/echo")


def ended_cast(
    platform: Platform, caster: Caster, finished_at: datetime | None, *, data: Any = None, logs: int = 2
) -> str:
    """A cast with its input, output, an error message and events; ``finished_at=None``: still running."""
    given = data if data is not None else {"secret": "the caster's words", "n": 1}
    cast_id = new_id("cast")
    created = (finished_at or platform.audit.clock.now()) - timedelta(seconds=5)
    with platform.db.unit_of_work() as uow:
        uow.session.add(
            Cast(
                id=cast_id,
                tenant_id=caster.tenant_id,
                user_id=caster.user_id,
                spell_id=caster.spell_id,
                version="1.0.0",
                spell_digest="sha256:" + "a" * 64,
                status="succeeded" if finished_at else "running",
                idempotency_key=cast_id,
                request_digest="sha256:" + "b" * 64,
                input=given,
                input_digest=canonical_sha256(given),
                output={"echo": given} if finished_at else None,
                error_message="stderr said: the caster's words" if finished_at else None,
                created_at=created,
                started_at=created,
                finished_at=finished_at,
            )
        )
        uow.session.flush()
        kinds = ["queued", "running", *(["log"] * logs), "progress"]
        if finished_at:
            kinds.append("succeeded")
        for seq, kind in enumerate(kinds, start=1):
            uow.session.add(
                CastEvent(cast_id=cast_id, seq=seq, type=kind, data={"text": "x"}, created_at=created)
            )
    return cast_id


def add_artifact(
    platform: Platform, cast_id: str, tenant_id: str, content: bytes, expires_at: datetime, tmp: Path
) -> str:
    """An artifact of the cast whose bytes are put in the platform's blob store; its id."""
    source = tmp / new_id("file")
    source.write_bytes(content)
    sha, size = platform.artifacts.blobs.put_file(source)
    artifact_id = new_id("art")
    with platform.db.unit_of_work() as uow:
        uow.session.add(
            Artifact(
                id=artifact_id,
                cast_id=cast_id,
                tenant_id=tenant_id,
                name="out.txt",
                sha256=sha,
                size=size,
                media_type="text/plain",
                created_at=expires_at - timedelta(days=1),
                expires_at=expires_at,
            )
        )
    return artifact_id


def audit_at(
    platform: Platform,
    action: str,
    *,
    actor_id: str | None = None,
    tenant_id: str | None = None,
    count: int = 1,
) -> None:
    """Append ``count`` records at the clock's time, one transaction each."""
    for index in range(count):
        with platform.db.unit_of_work() as uow:
            platform.audit.append(
                uow, action, actor_id=actor_id, tenant_id=tenant_id, subject=f"s{index}", data={"i": index}
            )
