"""Open the platform for one CLI command (migrated SQLite by default), without starting workers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["open_platform"]


@contextmanager
def open_platform() -> Iterator[Any]:
    """The platform of the configured database; SQLite files are migrated first."""
    from spell.config.platform import platform_groups_from_env
    from spell.config.server import ServerSettings
    from spell.platform.server import Platform
    from spell.storage.migrate import upgrade

    settings = ServerSettings.from_env()
    if settings.is_sqlite:
        upgrade(settings.database_url)
    platform = Platform.build(settings, runtimes={}, **platform_groups_from_env())
    # A running server of this data dir sees what this command changes (keys, bans) on its next request.
    platform.share_with_siblings(relay_cancels=False, listen=False)
    try:
        yield platform
    finally:
        platform.stop()
