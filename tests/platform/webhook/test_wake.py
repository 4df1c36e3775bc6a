"""Delivery workers on every node wake at an event's commit: an API-only node's events do not wait for a
worker node's poll (PostgreSQL ``LISTEN``/``NOTIFY``), a rolled-back event wakes nobody, and a listener
that missed notifications wakes its worker anyway."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text

from spell.config.server import ServerSettings
from spell.config.webhooks import WebhookSettings
from spell.models import WebhookDelivery
from spell.platform.server import Platform
from spell.platform.webhook.outbox import WAKE_CHANNEL
from spell.storage import changes, notify
from spell.storage.engine import make_engine
from spell.storage.session import UnitOfWork
from tests.fakes.webhook_receiver import Receiver
from tests.fixtures.database import PG_ADMIN_URL, DatabaseTemplates, require_postgres
from tests.fixtures.server import seed_user

POLL_S = 30.0  # a worker that only polled would not send within the test
SOON_S = 2.0


@pytest.fixture
def pg_url(tmp_path: Path, database_templates: DatabaseTemplates) -> Iterator[str]:
    require_postgres()
    url = database_templates.full("postgresql", tmp_path)
    yield url
    database_templates.drop(url)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    served = Receiver()
    yield served
    served.close()


class Nodes:
    """Two nodes on one database: ``api`` runs no delivery worker, ``worker`` does (polling every 30 s)."""

    def __init__(self, api: Platform, worker: Platform) -> None:
        self.api, self.worker = api, worker


def _node(home: Path, url: str) -> Platform:
    settings = ServerSettings.for_home(home, database_url=url, allow_private_webhooks=True)
    platform = Platform.build(settings, runtimes={}, webhooks=WebhookSettings(poll_seconds=POLL_S))
    platform.share_with_siblings(relay_cancels=False)  # as `spell serve` does, with or without workers
    assert platform.listener is not None
    assert platform.listener.listening.wait(10)
    return platform


@pytest.fixture
def nodes(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Nodes]:
    # A second between reconnection attempts: time to write while a listener is away.
    defaults = notify.Listener.__init__.__kwdefaults__ or {}
    monkeypatch.setattr(notify.Listener.__init__, "__kwdefaults__", {**defaults, "backoff": (1.0, 1.0)})
    previous = changes._SHARED
    api = _node(tmp_path / "api", pg_url)
    worker = _node(tmp_path / "worker", pg_url)
    try:
        # Both nodes live in this process: the API node's notifications must read as another's.
        monkeypatch.setattr(notify, "origin", lambda: "the-api-node")
        worker.webhooks.wakeup.clear()  # the listener's first gap set it: no round before the event
        worker.webhook_delivery.start()
        yield Nodes(api, worker)
    finally:
        worker.stop()
        api.stop()
        changes._SHARED = previous


def _emit(platform: Platform, tenant_id: str, url: str) -> str:
    with platform.db.unit_of_work() as uow:
        (delivery_id,) = platform.webhooks.emit(uow, tenant_id, "cast.refunded", {"id": "cst_1"}, url=url)
    return delivery_id


def test_an_event_of_a_node_without_workers_is_sent_at_once_by_another_nodes_worker(
    nodes: Nodes, receiver: Receiver
) -> None:
    caller = seed_user(nodes.api, "a@example.com", ["caster"])
    started = time.monotonic()
    delivery_id = _emit(nodes.api, caller.tenant_id, receiver.url)
    assert receiver.arrived.wait(SOON_S), f"not delivered within {SOON_S}s (poll every {POLL_S}s)"
    assert time.monotonic() - started < SOON_S
    assert nodes.worker.webhook_delivery.wait_for_attempts(1, SOON_S)
    ((headers, _body),) = receiver.requests
    assert headers["webhook-id"] == delivery_id


def _terminate(pid: int) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    admin.dispose()


def test_an_event_written_while_the_workers_listener_was_away_is_sent_when_it_is_back(
    nodes: Nodes, receiver: Receiver
) -> None:
    caller = seed_user(nodes.api, "b@example.com", ["caster"])
    listener = nodes.worker.listener
    assert listener is not None
    assert listener.backend_pid is not None
    _terminate(listener.backend_pid)
    deadline = time.monotonic() + 10
    while listener.listening.is_set():
        assert time.monotonic() < deadline
        time.sleep(0.005)
    _emit(nodes.api, caller.tenant_id, receiver.url)  # its notification reaches no one on that node
    time.sleep(0.3)
    assert listener.connections == 1  # still away (a second between attempts)...
    assert not receiver.arrived.is_set()  # ...and nothing woke the worker
    # Back, it may have missed something: the worker looks at once rather than at its next poll.
    assert receiver.arrived.wait(SOON_S + 1.0)
    assert listener.connections == 2


class Wakes:
    """A listener on the webhook channel, with a cancel as a marker: once it arrives, all before it did."""

    def __init__(self, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.woken, self.marked = threading.Event(), threading.Event()
        self.listener = notify.Listener(
            url,
            on_change=lambda _name: None,
            on_cancel=lambda _cast_id: self.marked.set(),
            on_gap=lambda: None,
            wakes={WAKE_CHANNEL: self.woken.set},
        ).start()
        assert self.listener.listening.wait(10)
        self.woken.clear()  # set by the first gap
        # It took this process's tag on connecting: what is sent from now on reads as another's.
        monkeypatch.setattr(notify, "origin", lambda: "another-process")

    def settle(self, engine: Any) -> None:
        notify.send_cancel(engine, "cst_marker")
        assert self.marked.wait(5)


@pytest.fixture
def api(pg_url: str, tmp_path: Path) -> Iterator[Platform]:
    previous = changes._SHARED
    settings = ServerSettings.for_home(tmp_path / "home", database_url=pg_url, allow_private_webhooks=True)
    platform = Platform.build(settings, runtimes={})
    yield platform
    platform.stop()
    changes._SHARED = previous


def _notifies(platform: Platform) -> list[str]:
    sent: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "pg_notify" in statement and WAKE_CHANNEL in statement:
            sent.append(statement)

    event.listen(platform.db.engine, "before_cursor_execute", seen)
    return sent


def _emit_then_fail(platform: Platform, tenant_id: str) -> None:
    with platform.db.unit_of_work() as uow:
        platform.webhooks.emit(uow, tenant_id, "cast.refunded", {"id": "cst_1"}, url="http://127.0.0.1:9/")
        raise RuntimeError("the change rolls back, and its event with it")


def _emit_in_savepoint_then_fail(platform: Platform, uow: UnitOfWork, tenant_id: str) -> None:
    with uow.session.begin_nested():
        platform.webhooks.emit(uow, tenant_id, "cast.refunded", {"id": "cst_1"}, url="http://h/")
        raise RuntimeError("the savepoint rolls back, and PostgreSQL drops its notification")


def test_a_rolled_back_event_wakes_no_node(
    api: Platform, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    caller = seed_user(api, "c@example.com", ["caster"])
    wakes = Wakes(pg_url, monkeypatch)
    try:
        with pytest.raises(RuntimeError):
            _emit_then_fail(api, caller.tenant_id)
        wakes.settle(api.db.engine)
        assert not wakes.woken.is_set()
        assert not api.webhooks.wakeup.is_set()
        with api.db.unit_of_work(write=False) as uow:
            assert uow.session.query(WebhookDelivery).count() == 0
    finally:
        wakes.listener.close()


def test_several_events_in_one_transaction_send_one_notification(
    api: Platform, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    caller = seed_user(api, "d@example.com", ["caster"])
    sent = _notifies(api)
    wakes = Wakes(pg_url, monkeypatch)
    try:
        with api.db.unit_of_work() as uow:
            for n in range(3):
                api.webhooks.emit(uow, caller.tenant_id, "cast.refunded", {"id": f"cst_{n}"}, url="http://h/")
        assert len(sent) == 1
        assert wakes.woken.wait(5)
    finally:
        wakes.listener.close()


def test_an_event_after_a_rolled_back_savepoint_that_sent_the_notification_sends_it_again(
    api: Platform, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    caller = seed_user(api, "e@example.com", ["caster"])
    sent = _notifies(api)
    wakes = Wakes(pg_url, monkeypatch)
    try:
        with api.db.unit_of_work() as uow:
            with pytest.raises(RuntimeError):
                _emit_in_savepoint_then_fail(api, uow, caller.tenant_id)
            api.webhooks.emit(uow, caller.tenant_id, "cast.refunded", {"id": "cst_2"}, url="http://h/")
            api.webhooks.emit(uow, caller.tenant_id, "cast.refunded", {"id": "cst_3"}, url="http://h/")
        assert len(sent) == 2
        assert wakes.woken.wait(5)
    finally:
        wakes.listener.close()


def test_a_redelivery_wakes_the_other_nodes_too(
    api: Platform, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    caller = seed_user(api, "f@example.com", ["caster"])
    with api.db.unit_of_work() as uow:
        (delivery_id,) = api.webhooks.emit(
            uow, caller.tenant_id, "cast.refunded", {"id": "c"}, url="http://h/"
        )
    wakes = Wakes(pg_url, monkeypatch)
    try:
        with api.db.unit_of_work() as uow:
            api.webhooks.redeliver(uow, caller.tenant_id, delivery_id)
        assert wakes.woken.wait(5)
    finally:
        wakes.listener.close()


def test_a_listener_hears_no_wake_up_of_its_own_process(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    own = notify.origin()
    wakes = Wakes(pg_url, monkeypatch)
    engine = make_engine(pg_url)
    try:
        with engine.begin() as conn:  # this process woke its own worker already
            conn.execute(text(f"SELECT pg_notify({notify.channel_sql(WAKE_CHANNEL)}, :p)"), {"p": own})
        wakes.settle(engine)
        assert not wakes.woken.is_set()
    finally:
        engine.dispose()
        wakes.listener.close()


def test_on_sqlite_an_event_sends_no_notification_and_wakes_this_process_only(
    tmp_path: Path, database_templates: DatabaseTemplates
) -> None:
    previous = changes._SHARED
    url = database_templates.full("sqlite", tmp_path)
    platform = Platform.build(ServerSettings.for_home(tmp_path / "home", database_url=url), runtimes={})
    try:
        assert platform.settings.is_sqlite
        caller = seed_user(platform, "g@example.com", ["caster"])
        statements: list[str] = []
        event.listen(
            platform.db.engine, "before_cursor_execute", lambda _c, _k, sql, *_a: statements.append(sql)
        )
        with platform.db.unit_of_work() as uow:
            platform.webhooks.emit(uow, caller.tenant_id, "cast.refunded", {"id": "c"}, url="http://h/")
            assert not platform.webhooks.wakeup.is_set()  # not before the commit
        assert platform.webhooks.wakeup.is_set()
        assert statements
        assert not any("notify" in sql for sql in statements)
    finally:
        platform.stop()
        changes._SHARED = previous
