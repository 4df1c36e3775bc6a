"""Server fixtures: a database per test on SQLite and PostgreSQL, a running platform, an HTTP client.

PostgreSQL tests use a fresh schema per test (dropped afterwards). Without a server they skip with the
reason; ``SPELL_TEST_REQUIRE_SERVICES=1`` turns that skip into a failure.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from spell.api import create_app
from spell.config.server import ServerSettings
from spell.kit.clock import Clock, FakeClock
from spell.kit.time import utcnow
from spell.models import Base
from spell.platform.server import Platform
from spell.runtimes.base import Runtime
from spell.runtimes.wasm import WasmRuntime
from spell.storage.engine import make_engine
from spell.storage.session import Database
from tests.server_factories import Publisher, archive_of, new_publisher, wasm_bundle

PG_ADMIN_URL = os.environ.get(
    "SPELL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]


def _postgres_available() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect means "no server here"
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}"
    return None


_PG_PROBLEM: list[str | None] = []


def _require_postgres() -> None:
    if not _PG_PROBLEM:
        _PG_PROBLEM.append(_postgres_available())
    problem = _PG_PROBLEM[0]
    if problem is None:
        return
    if os.environ.get("SPELL_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(problem + " (SPELL_TEST_REQUIRE_SERVICES=1)")
    pytest.skip(problem)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'platform.db'}"
        return
    _require_postgres()
    schema = "t_" + secrets.token_hex(6)
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A database with every table created."""
    db = Database(make_engine(database_url))
    Base.metadata.create_all(db.engine)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def wasm_runtime() -> Iterator[WasmRuntime]:
    """One WASM runtime for the session (compiling engines is the slow part)."""
    runtime = WasmRuntime()
    yield runtime
    runtime.close()


@pytest.fixture
def server_settings(tmp_path: Path, database_url: str) -> ServerSettings:
    """Settings of a test server: embedded layout under tmp_path, the parametrised database; rate limits
    stay on, high enough for the tests that cast many times (tests/api/test_rate_limit.py lowers them)."""
    return ServerSettings.for_home(
        tmp_path / "home",
        database_url=database_url,
        secret_key="test-secret",
        workers=4,
        max_body_bytes=2 * 1024 * 1024,
        sse_heartbeat_seconds=0.2,
        rate_limit_per_minute=100_000,
        tenant_rate_limit_per_minute=100_000,
    )


@pytest.fixture
def runtimes(wasm_runtime: WasmRuntime) -> dict[str, Runtime]:
    """The runtimes a test server casts with."""
    return {"wasm": wasm_runtime}


@pytest.fixture
def platform(
    server_settings: ServerSettings, database: Database, runtimes: dict[str, Runtime]
) -> Iterator[Platform]:
    """A started platform (worker pool running) over the test database."""
    yield from started_platform(server_settings, database, runtimes)


@pytest.fixture
def clock() -> FakeClock:
    """A clock standing at the real time until a test advances it."""
    return FakeClock(utcnow())


@pytest.fixture(name="platform")
def platform_on_fake_clock(
    server_settings: ServerSettings, database: Database, runtimes: dict[str, Runtime], clock: FakeClock
) -> Iterator[Platform]:
    """``platform`` on the fake ``clock``: a test module that imports this runs on that clock."""
    yield from started_platform(server_settings, database, runtimes, clock=clock)


def started_platform(
    settings: ServerSettings, database: Database, runtimes: dict[str, Runtime], *, clock: Clock | None = None
) -> Iterator[Platform]:
    """A platform started for one test and stopped after it; ``clock`` replaces the system's."""
    built = Platform.build(settings, runtimes=runtimes, database=database, clock=clock)
    built.start()
    yield built
    built.stop()  # the workers and the sweep thread


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


@pytest.fixture
async def client(platform: Platform, server_settings: ServerSettings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the real app (in process)."""
    app = create_app(server_settings, platform=platform, manage=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://spell.test") as http:
        yield http


@dataclass
class Caller:
    """A seeded user: ids, bearer headers, and (for makers) a registered publisher."""

    user_id: str
    tenant_id: str
    token: str
    publisher: Publisher | None = None

    @property
    def headers(self) -> dict[str, str]:
        """``Authorization`` for this caller."""
        return {"Authorization": f"Bearer {self.token}"}


def seed_user(platform: Platform, email: str, roles: list[str], *, scopes: list[str] | None = None) -> Caller:
    """Create a user in its own tenant and a key for it."""
    with platform.db.unit_of_work() as uow:
        user = platform.auth.create_user(uow, email=email, roles=roles)
        created = platform.auth.create_key(uow, user, name="test", scopes=scopes)
        return Caller(user_id=user.id, tenant_id=user.tenant_id, token=created.token)


async def seed_maker(
    client: httpx.AsyncClient, platform: Platform, email: str = "maker@example.com", publisher: str = "acme"
) -> Caller:
    """A maker with a registered publisher key."""
    maker = seed_user(platform, email, ["maker"])
    maker.publisher = new_publisher(publisher)
    response = await client.post(
        f"/v1/publishers/{publisher}/keys",
        headers=maker.headers,
        json={"key_id": maker.publisher.key_id, "public_key": maker.publisher.public_key},
    )
    assert response.status_code == 201, response.text
    return maker


async def publish(
    client: httpx.AsyncClient, maker: Caller, tmp_path: Path, spell_id: str = "acme/hello", **kwargs: Any
) -> dict[str, Any]:
    """Build, sign and publish a wasm spell; return the version JSON."""
    bundle = wasm_bundle(tmp_path / f"b-{secrets.token_hex(4)}", spell_id, signer=maker.publisher, **kwargs)
    response = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
