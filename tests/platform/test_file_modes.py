"""The server's data dir, database (with its -wal/-shm) and secret key are its owner's alone."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from spell.config.server import ServerSettings
from spell.platform.server import Platform
from spell.storage.migrate import upgrade


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A permissive umask, so the modes seen are the ones the code asked for, not the umask's."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _serve_once(home: Path) -> tuple[ServerSettings, dict[str, int]]:
    """Build a platform on ``home``, write once; the modes of the SQLite side files while it is open."""
    settings = ServerSettings.for_home(home)
    upgrade(settings.database_url)
    platform = Platform.build(settings, runtimes={})
    try:
        with platform.db.unit_of_work() as uow:  # a write, so SQLite has made its -wal and -shm files
            platform.auth.create_user(uow, email="m@example.com", roles=["caster"])
        sidecars = {p.name: _mode(p) for p in home.glob("platform.db-*")}
    finally:
        platform.stop()
    return settings, sidecars


@pytest.mark.usefixtures("open_umask")
def test_a_fresh_data_dir_database_and_secret_are_created_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings, sidecars = _serve_once(home)
    db = home / "platform.db"
    assert _mode(settings.data_dir) == 0o700
    assert _mode(home) == 0o700
    assert _mode(settings.data_dir / "secret.key") == 0o600
    assert _mode(db) == 0o600
    assert sidecars == {"platform.db-wal": 0o600, "platform.db-shm": 0o600}


@pytest.mark.usefixtures("open_umask")
def test_a_data_dir_left_readable_by_an_older_version_is_tightened(tmp_path: Path) -> None:
    home = tmp_path / "home"
    data_dir = home / "server"
    data_dir.mkdir(parents=True)
    for folder in (home, data_dir):
        folder.chmod(0o755)
    (data_dir / "secret.key").write_text("kept", encoding="utf-8")
    (data_dir / "secret.key").chmod(0o644)
    (home / "platform.db").touch(mode=0o644)
    settings, _ = _serve_once(home)
    assert _mode(settings.data_dir) == 0o700
    assert _mode(settings.data_dir / "secret.key") == 0o600
    assert (settings.data_dir / "secret.key").read_text(encoding="utf-8") == "kept"
    assert _mode(home / "platform.db") == 0o600
    assert _mode(home) == 0o755  # a folder that already existed may be shared on purpose: left alone
