"""Synchronous database code on the event loop (``storage.yielding``): its waits for PostgreSQL yield to
the loop, so units of work run side by side on one thread, a row lock one of them holds does not stop
the loop the holder needs, and a lost connection fails only its own unit of work.

Each scenario runs on a loop of its own in a thread with a deadline: a loop blocked by a wait that did
not yield would hang there, and the test fails instead of hanging."""

from __future__ import annotations

import asyncio
import contextvars
import os
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Generator, Iterator
from typing import Any

import psycopg
import pytest
from psycopg.waiting import Ready, Wait
from sqlalchemy import event, text

from spell.errors import DatabaseUnavailable
from spell.storage import pgconn, yielding
from spell.storage.session import LOOP_CONNECTIONS, Database, open_database

_SEEN: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="unset")


def _on_a_loop(scenario: Callable[[], Coroutine[Any, Any, Any]], within_s: float = 20) -> Any:
    """``scenario()`` on a fresh event loop in a thread; its result, or a failure after ``within_s``."""
    outcome: dict[str, Any] = {}

    def main() -> None:
        try:
            outcome["value"] = asyncio.run(scenario())
        except BaseException as exc:  # handed to the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    thread.join(within_s)
    assert not thread.is_alive(), "the event loop was blocked"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.fixture
def loop_db(database_url: str, database_backend: str) -> Iterator[Database]:
    if database_backend != "postgresql":
        pytest.skip("SQLite's statements never wait on a network: its quick casts block the loop")
    db = open_database(database_url, loop_connections=4)
    yield db
    db.dispose()


# the device itself ----------------------------------------------------------------------------------


def test_run_answers_what_the_code_returns_or_raises_and_wait_what_the_loop_awaited() -> None:
    def add(a: int, b: int) -> int:
        assert yielding.active()
        return a + yielding.wait(asyncio.sleep(0, result=b))

    def fails() -> str:
        try:
            yielding.wait(_refused())
        except LookupError as exc:  # the awaited error reaches the code that waited
            return f"caught {exc}"
        return "not caught"

    def raises() -> None:
        raise ValueError("from the code")

    async def scenario() -> tuple[int, str]:
        added = await yielding.run(add, 1, 2)
        caught = await yielding.run(fails)
        with pytest.raises(ValueError, match="from the code"):
            await yielding.run(raises)
        return added, caught

    assert _on_a_loop(scenario) == (3, "caught refused")


async def _refused() -> None:
    await asyncio.sleep(0)
    raise LookupError("refused")


def test_the_code_runs_in_the_callers_context() -> None:
    async def scenario() -> str:
        _SEEN.set("the caller's")
        return await yielding.run(_SEEN.get)

    assert _on_a_loop(scenario) == "the caller's"


def test_wait_outside_run_is_refused_and_nothing_is_active() -> None:
    assert yielding.active() is False
    with pytest.raises(RuntimeError, match=r"outside yielding\.run"):
        yielding.wait(asyncio.sleep(0))


# the connection's wait inside ``run`` -----------------------------------------------------------------


def test_a_socket_ready_now_is_told_without_a_turn_of_the_loop_and_a_broken_one_as_ready() -> None:
    ours, theirs = socket.socketpair()
    try:
        assert pgconn._ready_now(ours.fileno(), Wait.R) == 0  # nothing to read: the loop would wait
        assert pgconn._ready_now(ours.fileno(), Wait.W) == Ready.W
        theirs.sendall(b"x")
        assert pgconn._ready_now(ours.fileno(), Wait.RW) == Ready.RW
        theirs.close()
        ours.recv(1)
        # the peer is gone: the generator's next read is let meet the error
        assert pgconn._ready_now(ours.fileno(), Wait.R) == Wait.R
    finally:
        ours.close()
    closed = os.dup(0)
    os.close(closed)
    assert pgconn._ready_now(closed, Wait.R) == Wait.R  # not a descriptor any more: the same


def test_a_socket_error_while_driving_the_driver_is_a_lost_connection() -> None:
    ours, theirs = socket.socketpair()

    def broken() -> Generator[Wait, int, None]:
        yield Wait.W
        raise OSError("the socket went away")

    try:
        with pytest.raises(psycopg.OperationalError, match="connection socket closed"):
            pgconn._drive(broken(), ours.fileno())
    finally:
        ours.close()
        theirs.close()


def test_the_driver_waits_on_the_loop_until_the_socket_is_ready() -> None:
    ours, theirs = socket.socketpair()

    def reads() -> Generator[Wait, int, bytes]:
        ready = yield Wait.R
        assert ready == Ready.R
        return ours.recv(10)

    async def scenario() -> bytes:
        asyncio.get_running_loop().call_later(0.05, theirs.sendall, b"answer")
        return await yielding.run(pgconn._drive, reads(), ours.fileno())

    try:
        assert _on_a_loop(scenario) == b"answer"
    finally:
        ours.close()
        theirs.close()


# PostgreSQL ------------------------------------------------------------------------------------------


def _sleep_in_a_unit_of_work(db: Database, seconds: float) -> None:
    with db.unit_of_work() as uow:
        uow.session.execute(text("SELECT pg_sleep(:s)"), {"s": seconds})


def test_units_of_work_on_the_loop_wait_for_the_server_side_by_side(loop_db: Database) -> None:
    async def scenario() -> tuple[float, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.ensure_future(tick())
        started = time.monotonic()
        await asyncio.gather(*(yielding.run(_sleep_in_a_unit_of_work, loop_db, 0.4) for _ in range(3)))
        took = time.monotonic() - started
        ticker.cancel()
        return took, ticks

    took, ticks = _on_a_loop(scenario)
    assert took < 1.0  # three waits of 0.4 s at once, not one after another (1.2 s)
    assert ticks >= 10  # and the loop went on meanwhile


def test_a_row_lock_one_unit_of_work_holds_does_not_stop_the_loop_for_another(loop_db: Database) -> None:
    with loop_db.unit_of_work() as uow:
        uow.session.execute(text("CREATE TABLE lock_probe (id int PRIMARY KEY, v text)"))
        uow.session.execute(text("INSERT INTO lock_probe VALUES (1, 'start')"))

    async def scenario() -> list[str]:
        second_waits = asyncio.Event()
        order: list[str] = []

        def first() -> None:
            with loop_db.unit_of_work() as uow:
                uow.session.execute(text("UPDATE lock_probe SET v = 'first' WHERE id = 1"))
                yielding.wait(second_waits.wait())  # suspended, holding the row
                yielding.wait(asyncio.sleep(0.2))  # the second is queued on the row's lock by now
                order.append("first commits")

        def second() -> None:
            with loop_db.unit_of_work() as uow:
                uow.session.execute(text("SET LOCAL lock_timeout = '5s'"))
                second_waits.set()
                uow.session.execute(text("UPDATE lock_probe SET v = 'second' WHERE id = 1"))
                order.append("second updated")

        await asyncio.gather(yielding.run(first), yielding.run(second))
        return order

    assert _on_a_loop(scenario) == ["first commits", "second updated"]
    with loop_db.unit_of_work(write=False) as uow:
        assert uow.session.scalar(text("SELECT v FROM lock_probe")) == "second"


def test_the_first_connections_of_the_loop_open_side_by_side(database_url: str, loop_db: Database) -> None:
    # While a pool's first connection opens, SQLAlchemy runs its set-up under a thread lock: a
    # connection may yield only once handed out, or the second opening would block the loop's thread.
    fresh = open_database(database_url, loop_connections=3)
    try:

        async def scenario() -> None:
            await asyncio.gather(*(yielding.run(_sleep_in_a_unit_of_work, fresh, 0.05) for _ in range(3)))

        _on_a_loop(scenario)
    finally:
        fresh.dispose()


def test_a_connection_lost_while_suspended_fails_its_unit_of_work_and_the_next_one_works(
    loop_db: Database,
) -> None:
    async def scenario() -> str:
        backend: list[int] = []

        def doomed() -> None:
            with loop_db.unit_of_work() as uow:
                backend.append(int(uow.session.scalar(text("SELECT pg_backend_pid()"))))
                uow.session.execute(text("SELECT pg_sleep(5)"))

        def killer() -> None:
            while not backend:
                yielding.wait(asyncio.sleep(0.01))
            yielding.wait(asyncio.sleep(0.1))  # the doomed one waits on its sleep by now
            with loop_db.unit_of_work() as uow:
                uow.session.execute(text("SELECT pg_terminate_backend(:p)"), {"p": backend[0]})

        outcomes = await asyncio.gather(yielding.run(doomed), yielding.run(killer), return_exceptions=True)
        assert isinstance(outcomes[0], DatabaseUnavailable), outcomes
        assert outcomes[1] is None

        def after() -> str:
            with loop_db.unit_of_work(write=False) as uow:
                return str(uow.session.scalar(text("SELECT 'answers'")))

        return await yielding.run(after)

    assert _on_a_loop(scenario) == "answers"


def test_the_loop_has_its_own_bounded_pool_and_threads_never_use_it(loop_db: Database) -> None:
    assert open_database.__kwdefaults__ == {"loop_connections": LOOP_CONNECTIONS}
    assert loop_db.loop_connections == 4

    def pool_of_this_unit() -> int:
        with loop_db.unit_of_work(write=False) as uow:
            return id(uow.session.connection().engine.pool)

    async def scenario() -> int:
        return await yielding.run(pool_of_this_unit)

    on_the_loop = _on_a_loop(scenario)
    on_a_thread = pool_of_this_unit()
    assert on_the_loop != on_a_thread == id(loop_db.engine.pool)


def test_loop_connections_opened_ahead_serve_the_loop_without_opening_one_there(loop_db: Database) -> None:
    assert loop_db.loop_engine is not None
    opened: list[str] = []
    event.listen(loop_db.loop_engine, "connect", lambda *_: opened.append(threading.current_thread().name))
    assert loop_db.open_loop_connections() == 4
    assert opened == [threading.current_thread().name] * 4  # here, not on a loop
    pool: Any = loop_db.loop_engine.pool
    assert pool.checkedin() == 4

    async def scenario() -> None:
        await asyncio.gather(*(yielding.run(_sleep_in_a_unit_of_work, loop_db, 0.05) for _ in range(4)))

    _on_a_loop(scenario)
    assert len(opened) == 4  # the loop took the open ones
    assert pool.checkedin() == 4


def test_opening_loop_connections_ahead_where_there_are_none_or_the_database_is_down(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    if database.loop_engine is None:
        assert database.open_loop_connections() == 0  # SQLite: nothing to open
        return
    down = open_database("postgresql+psycopg://postgres@127.0.0.1:9/spell", loop_connections=2)
    try:
        with caplog.at_level("WARNING", logger="spell.storage.session"):
            assert down.open_loop_connections() == 0
        assert "were not opened ahead" in caplog.text
    finally:
        down.dispose()
