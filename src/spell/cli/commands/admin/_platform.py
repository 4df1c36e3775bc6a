"""Open the platform for one CLI command (migrated SQLite by default), without starting workers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["open_platform"]


@contextmanager
def open_platform() -> Iterator[Any]:
    """The platform of the configured database; SQLite files are migrated first."""
    from spell.config.abuse import AbuseSettings
    from spell.config.privacy import PrivacySettings
    from spell.config.retention import RetentionSettings
    from spell.config.server import ServerSettings
    from spell.config.supply import SupplySettings
    from spell.platform.server import Platform
    from spell.storage.migrate import upgrade

    settings = ServerSettings.from_env()
    if settings.is_sqlite:
        upgrade(settings.database_url)
    platform = Platform.build(
        settings,
        runtimes={},
        supply=SupplySettings.from_env(),
        retention=RetentionSettings.from_env(),
        abuse=AbuseSettings.from_env(),
        privacy=PrivacySettings.from_env(),
    )
    # A running server of this data dir sees what this command changes (keys, bans) on its next request.
    platform.share_with_siblings(relay_cancels=False, listen=False)
    try:
        yield platform
    finally:
        platform.stop()
