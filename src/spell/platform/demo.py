"""``spell serve --demo``: a demo admin with a key, the demo publisher key and the example spells."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from spell.bundle.archive import pack_bundle
from spell.errors import AlreadyExists, SpellError
from spell.platform.auth.schemas import Principal
from spell.platform.server import Platform
from spell.platform.spell import publishers

__all__ = ["DEMO_EMAIL", "DemoSeed", "seed_demo"]

DEMO_EMAIL = "demo@spell.local"


@dataclass
class DemoSeed:
    """What the demo made: the key secret (shown once), published spells, and spells it skipped."""

    token: str
    user_id: str
    published: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def seed_demo(
    platform: Platform, examples: Path, *, publisher: str, key_id: str, public_key: str
) -> DemoSeed:
    """Create (or reuse) the demo user, make a fresh key, register the key and publish every example."""
    with platform.db.unit_of_work() as uow:
        try:
            user = platform.auth.create_user(uow, email=DEMO_EMAIL, roles=["admin", "maker", "caster"])
        except AlreadyExists:
            user = platform.auth.find_user(uow, DEMO_EMAIL)
        created = platform.auth.create_key(
            uow,
            user,
            name="demo",
            scopes=["cast:invoke", "spell:read", "spell:publish", "keys:manage", "admin"],
        )
        principal = Principal(
            user_id=user.id,
            tenant_id=user.tenant_id,
            roles=tuple(user.roles),
            scopes=tuple(created.key.scopes),
            key_id=created.key.id,
        )
        with suppress(AlreadyExists):  # registered by an earlier demo run
            publishers.register_key(uow, principal, publisher, key_id=key_id, public_key=public_key)
    seed = DemoSeed(token=created.token, user_id=user.id)
    for folder in sorted(p for p in examples.iterdir() if p.is_dir()) if examples.is_dir() else []:
        if not ((folder / "spell.yaml").exists() or (folder / "manifest.toml").exists()):
            continue
        try:
            with platform.db.unit_of_work() as uow:
                version = platform.spells.publish(uow, principal, pack_bundle(folder), tags=["example"])
            seed.published.append(f"{version.spell_id}@{version.version}")
        except SpellError as exc:  # one broken example must not stop the demo
            seed.skipped[folder.name] = f"{exc.code}: {exc.message}"
    return seed
