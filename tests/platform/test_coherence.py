"""The notification channel between nodes (``storage.notify``) and how caches and cancels use it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from spell.config.server import ServerSettings
from spell.models import User
from spell.platform.auth.service import AuthService
from spell.platform.cast.relay import CancelRelay
from spell.platform.server import Platform
from spell.storage import changes, notify
from spell.storage.changes import CachedReads, generation_of
from spell.storage.engine import make_engine
from spell.storage.session import Database
from tests.fixtures.database import PG_ADMIN_URL, DatabaseTemplates, require_postgres

USER = f"{User.__module__}.{User.__qualname__}"


class Heard:
    """What a listener reported, with an event per kind."""

    def __init__(self) -> None:
        self.changes: list[str] = []
        self.cancels: list[str] = []
        self.gaps = 0
        self.states: list[bool] = []
        self.changed, self.canceled, self.gapped = threading.Event(), threading.Event(), threading.Event()

    def change(self, name: str) -> None:
        self.changes.append(name)
        self.changed.set()

    def cancel(self, cast_id: str) -> None:
        self.cancels.append(cast_id)
        self.canceled.set()

    def gap(self) -> None:
        self.gaps += 1
        self.gapped.set()

    def listener(self, url: str, **kwargs: object) -> notify.Listener:
        return notify.Listener(
            url,
            on_change=self.change,
            on_cancel=self.cancel,
            on_gap=self.gap,
            on_state=self.states.append,
            **kwargs,  # type: ignore[arg-type]
        )


@pytest.fixture
def pg_url(tmp_path: Path, database_templates: DatabaseTemplates) -> Iterator[str]:
    require_postgres()
    url = database_templates.full("postgresql", tmp_path)
    yield url
    database_templates.drop(url)


@pytest.fixture
def listening(pg_url: str) -> Iterator[tuple[notify.Listener, Heard]]:
    heard = Heard()
    listener = heard.listener(pg_url).start()
    assert listener.listening.wait(10)
    yield listener, heard
    listener.close()


def _add_user(db: Database, email: str) -> str:
    with db.unit_of_work() as uow:
        return AuthService("s").create_user(uow, email=email, roles=["caster"]).id


def test_a_commit_of_a_watched_model_is_heard_by_other_processes_with_its_name(
    pg_url: str, listening: tuple[notify.Listener, Heard], monkeypatch: pytest.MonkeyPatch
) -> None:
    _listener, heard = listening
    generation_of(User)
    monkeypatch.setattr(changes, "origin", lambda: "another-process")
    db = Database(make_engine(pg_url))
    try:
        _add_user(db, "a@example.com")
        assert heard.changed.wait(5)
        assert USER in heard.changes
    finally:
        db.dispose()


def _add_user_then_fail(db: Database) -> None:
    with db.unit_of_work() as uow:
        AuthService("s").create_user(uow, email="gone@example.com", roles=["caster"])
        uow.session.flush()  # the notification is queued in the transaction...
        raise RuntimeError("...which rolls back")


def test_a_rolled_back_change_is_never_heard(
    pg_url: str, listening: tuple[notify.Listener, Heard], monkeypatch: pytest.MonkeyPatch
) -> None:
    _listener, heard = listening
    generation_of(User)
    monkeypatch.setattr(changes, "origin", lambda: "another-process")
    db = Database(make_engine(pg_url))
    try:
        with pytest.raises(RuntimeError):
            _add_user_then_fail(db)
        notify.send_cancel(db.engine, "cst_marker")  # sent after: once it arrives, all before it did
        assert heard.canceled.wait(5)
        assert heard.changes == []
    finally:
        db.dispose()


def test_this_process_does_not_hear_its_own_changes_twice(
    pg_url: str, listening: tuple[notify.Listener, Heard]
) -> None:
    _listener, heard = listening
    generation_of(User)
    db = Database(make_engine(pg_url))
    try:
        _add_user(db, "own@example.com")
        notify.send_cancel(db.engine, "cst_marker")
        assert heard.canceled.wait(5)
        assert heard.changes == []  # its commit bumped the generation here already
    finally:
        db.dispose()


def test_a_heard_change_bumps_the_named_generation_and_an_unknown_name_is_ignored() -> None:
    generation = generation_of(User)
    before = generation.value
    changes.bump_named(USER)
    changes.bump_named("no.such.Model")
    assert generation.value == before + 1


def test_cancels_reach_listeners_of_the_same_schema_only(
    pg_url: str,
    listening: tuple[notify.Listener, Heard],
    tmp_path: Path,
    database_templates: DatabaseTemplates,
) -> None:
    _listener, heard = listening
    other = database_templates.empty("postgresql", tmp_path / "other")
    engine, elsewhere = make_engine(pg_url), make_engine(other)
    try:
        notify.send_cancel(elsewhere, "cst_other_deployment")
        notify.send_cancel(engine, "cst_1")
        assert heard.canceled.wait(5)
        assert heard.cancels == ["cst_1"]
    finally:
        engine.dispose()
        elsewhere.dispose()
        database_templates.drop(other)


def _terminate(pid: int) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    admin.dispose()


def test_a_killed_connection_is_replaced_and_everything_is_invalidated(
    pg_url: str, listening: tuple[notify.Listener, Heard]
) -> None:
    listener, heard = listening
    assert listener.connections == 1
    assert heard.gaps == 1
    first = listener.backend_pid
    assert first is not None
    heard.gapped.clear()
    _terminate(first)
    deadline = time.monotonic() + 10
    while listener.connections < 2:
        assert time.monotonic() < deadline, "the listener never came back"
        time.sleep(0.02)
    assert listener.backend_pid != first
    assert heard.gaps >= 3  # once on losing the connection, once on listening again
    assert heard.states[:3] == [True, False, True]
    engine = make_engine(pg_url)
    try:
        notify.send_cancel(engine, "cst_after")  # and it hears again
        assert heard.canceled.wait(5)
    finally:
        engine.dispose()


def test_caching_is_off_while_the_listener_is_away_and_cached_reads_miss_after_it_reconnects(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A second between attempts: time to look at the node while it is away.
    defaults = notify.Listener.__init__.__kwdefaults__ or {}
    monkeypatch.setattr(notify.Listener.__init__, "__kwdefaults__", {**defaults, "backoff": (1.0, 1.0)})
    settings = ServerSettings.from_env(
        {"SPELL_HOME": str(tmp_path / "home"), "SPELL_DATABASE_URL": pg_url, "SPELL_SERVER_SECRET_KEY": "k"}
    )
    previous = changes._SHARED
    platform = Platform.build(settings, runtimes={})
    cache: CachedReads[str, str] = CachedReads(User, ttl_s=60)
    try:
        platform.share_with_siblings(relay_cancels=False)
        listener = platform.listener
        assert listener is not None
        assert listener.listening.wait(10)
        cache.put("kept", "v", cache.snapshot())
        assert cache.get("kept") == "v"
        assert listener.backend_pid is not None
        _terminate(listener.backend_pid)
        deadline = time.monotonic() + 10
        while listener.listening.is_set():
            assert time.monotonic() < deadline
            time.sleep(0.005)
        cache.put("k", "v2", cache.snapshot())
        assert cache.get("k") is None  # away: nothing cached is used or kept
        while listener.connections < 2:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        assert listener.listening.wait(5)
        assert cache.get("kept") is None  # read before the gap: invalidated on reconnect
        cache.put("k", "v3", cache.snapshot())
        assert cache.get("k") == "v3"  # cached again once listening
    finally:
        platform.stop()
        changes._SHARED = previous
    assert changes._HOLDS == 0  # a stopped platform holds nothing off


def test_a_hold_turns_every_cached_read_off_until_given_back() -> None:
    cache: CachedReads[str, str] = CachedReads(User, ttl_s=60)
    cache.put("k", "v", cache.snapshot())
    changes.hold_caching(True)
    try:
        assert cache.get("k") is None
        cache.put("k2", "v", cache.snapshot())
    finally:
        changes.hold_caching(False)
    assert cache.get("k2") is None  # nothing was kept while held
    cache.put("k2", "v", cache.snapshot())
    assert cache.get("k2") == "v"


def test_an_unreachable_database_is_retried_with_caching_held_and_close_is_prompt() -> None:
    heard = Heard()
    listener = heard.listener("postgresql+psycopg://nobody@127.0.0.1:1/none", backoff=(0.01, 0.05)).start()
    try:
        deadline = time.monotonic() + 10
        while heard.gaps < 3:  # every failed attempt counts as a gap, retried with backoff
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert not listener.listening.is_set()
        assert heard.states == []
    finally:
        started = time.monotonic()
        listener.close()
    assert time.monotonic() - started < 2


def test_a_failing_callback_costs_a_reconnect_not_the_listener(pg_url: str) -> None:
    heard = Heard()
    calls: list[str] = []

    def explode(cast_id: str) -> None:
        calls.append(cast_id)
        if cast_id == "cst_bad":
            raise ValueError("bad cancel")
        heard.cancel(cast_id)

    listener = notify.Listener(
        pg_url, on_change=heard.change, on_cancel=explode, on_gap=heard.gap, backoff=(0.01, 0.05)
    ).start()
    engine = make_engine(pg_url)
    try:
        assert listener.listening.wait(10)
        notify.send_cancel(engine, "cst_bad")
        deadline = time.monotonic() + 10
        while listener.connections < 2:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert listener.listening.wait(5)
        notify.send_cancel(engine, "cst_good")
        assert heard.canceled.wait(5)
        assert heard.cancels == ["cst_good"]
    finally:
        engine.dispose()
        listener.close()


def test_sqlite_deployments_start_no_listener_and_relay_nothing_remotely(tmp_path: Path) -> None:
    settings = ServerSettings.from_env({"SPELL_HOME": str(tmp_path / "home"), "SPELL_SERVER_SECRET_KEY": "k"})
    assert settings.is_sqlite
    previous = changes._SHARED
    platform = Platform.build(settings, runtimes={})
    try:
        platform.share_with_siblings(relay_cancels=False)
        assert platform.listener is None
        assert platform.casts.relay is None
    finally:
        platform.stop()
        changes._SHARED = previous


def test_a_remote_cancel_that_cannot_be_sent_is_logged_and_this_host_is_still_asked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sent: list[str] = []

    def down(cast_id: str) -> None:
        sent.append(cast_id)
        raise OSError("database away")

    relay = CancelRelay(tmp_path / "run", lambda _cast_id: False, remote=down)
    try:
        with caplog.at_level(logging.WARNING):
            assert relay.send("cst_1") == 0  # no sibling processes here
        assert sent == ["cst_1"]
        assert "not sent to other machines" in caplog.text
    finally:
        relay.close()


def test_a_remote_only_relay_has_no_inbox_on_this_host() -> None:
    sent: list[str] = []
    relay = CancelRelay(None, lambda _cast_id: False, remote=sent.append)
    assert not relay.local
    assert relay.send("cst_2") == 0
    assert sent == ["cst_2"]
    relay.close()


def test_a_one_shot_command_sends_remote_cancels_without_listening_and_a_server_adds_its_siblings(
    pg_url: str, tmp_path: Path
) -> None:
    settings = ServerSettings.from_env(
        {"SPELL_HOME": str(tmp_path / "home"), "SPELL_DATABASE_URL": pg_url, "SPELL_SERVER_SECRET_KEY": "k"}
    )
    previous = changes._SHARED
    platform = Platform.build(settings, runtimes={})
    try:
        platform.share_with_siblings(relay_cancels=False, listen=False)  # `spell admin …`
        assert platform.listener is None
        relay = platform.casts.relay
        assert relay is not None
        assert not relay.local
        platform.share_with_siblings(relay_cancels=True)  # `spell serve` beside `spell worker`s
        assert platform.casts.relay is not None
        assert platform.casts.relay.local
        assert platform.listener is not None
        assert platform.listener.listening.wait(10)
        heard = Heard()
        other = heard.listener(pg_url).start()
        try:
            assert other.listening.wait(10)
            assert platform.casts.relay.send("cst_3") == 0  # no siblings here; the other machine hears it
            assert heard.canceled.wait(5)
            assert heard.cancels == ["cst_3"]
        finally:
            other.close()
    finally:
        platform.stop()
        changes._SHARED = previous
    assert changes._HOLDS == 0
