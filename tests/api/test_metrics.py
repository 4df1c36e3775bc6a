"""``/metrics``: scraped after real casts (succeeded, failed, refused), read back with the Prometheus
parser; refused without the metrics token, absent without one configured."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from spell.api import create_app
from spell.config.server import ServerSettings
from spell.platform.server import Platform
from spell.runtimes.base import Runtime
from spell.storage.session import Database
from tests.api.money_helpers import FLAT, credit, publish_priced
from tests.fixtures.server import Caller, publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio

TOKEN = "metrics-secret"
SCRAPE = {"Authorization": f"Bearer {TOKEN}"}
TRAP_WAT = '(module (memory (export "memory") 1) (func (export "_start") unreachable))'

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def server_settings(server_settings: ServerSettings) -> ServerSettings:
    """The test server with a metrics token and a per-credential limit of three casts a minute."""
    return dataclasses.replace(server_settings, metrics_token=TOKEN, rate_limit_per_minute=3)


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics", headers=SCRAPE)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(after: Samples, before: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def cast(
    client: httpx.AsyncClient, caller: Caller, spell: str, key: str, **json: object
) -> httpx.Response:
    headers = {**caller.headers, "Idempotency-Key": key, "Prefer": "wait=10"}
    return await client.post(f"/v1/spells/{spell}/cast", headers=headers, json={"input": {}, **json})


async def test_casts_are_counted_by_status_and_runtime_with_their_latency_and_errors_by_code(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path, "acme/hello")
    await publish(client, maker, tmp_path, "acme/trap", wat=TRAP_WAT, schema={"type": "object"})
    caster = seed_user(platform, "caster@example.com", ["caster"])
    before = await scrape(client)

    ok = await cast(client, caster, "acme/hello", "ok", input={"name": "a"})
    failed = await cast(client, caster, "acme/trap", "trap")
    refused = await cast(client, caster, "acme/hello", "bad", input={"name": 7})

    assert ok.json()["status"] == "succeeded"
    assert failed.json()["status"] == "failed"
    assert refused.status_code == 422
    after = await scrape(client)
    assert delta(after, before, "spell_casts_total", status="succeeded", runtime="wasm") == 1
    assert delta(after, before, "spell_casts_total", status="failed", runtime="wasm") == 1
    assert delta(after, before, "spell_cast_duration_seconds_count", runtime="wasm") == 2
    assert delta(after, before, "spell_cast_run_seconds_count", runtime="wasm") == 2
    assert delta(after, before, "spell_cast_duration_seconds_sum", runtime="wasm") > 0
    assert delta(after, before, "spell_cast_duration_seconds_bucket", runtime="wasm", le="+Inf") == 2
    assert delta(after, before, "spell_errors_total", code="VALIDATION_ERROR") == 1


async def test_rate_limit_refusals_are_counted_as_refusals_and_as_errors(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caster = seed_user(platform, "caster@example.com", ["caster"])
    before = await scrape(client)

    answers = [await cast(client, caster, "acme/missing", f"k{n}") for n in range(5)]

    refused = [answer for answer in answers if answer.status_code == 429]
    assert refused  # three a minute per credential: at least the last two
    after = await scrape(client)
    assert delta(after, before, "spell_rate_limited_total", scope="credential") == len(refused)
    assert delta(after, before, "spell_errors_total", code="RATE_LIMITED") == len(refused)
    assert delta(after, before, "spell_errors_total", code="SPELL_NOT_FOUND") == 5 - len(refused)


async def test_revenue_and_refunds_are_counted_in_micros(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, FLAT)
    caster = seed_user(platform, "caster@example.com", ["caster"])
    credit(platform, caster.user_id, 1_000_000)
    before = await scrape(client)

    paid = await cast(client, caster, "acme/paid", "paid", input={"name": "a"})
    assert paid.json()["status"] == "succeeded"
    charged = await scrape(client)
    with platform.db.unit_of_work() as uow:
        platform.budgets.refund(uow, paid.json()["id"], reason="goodwill")
    refunded = await scrape(client)

    assert delta(charged, before, "spell_revenue_micros_total", currency="USD") == 250_000
    assert delta(refunded, charged, "spell_refunds_total", kind="cast") == 1
    assert delta(refunded, charged, "spell_refunded_micros_total", kind="cast", currency="USD") == 250_000


@pytest.fixture
def idle_platform(
    server_settings: ServerSettings, database: Database, runtimes: dict[str, Runtime]
) -> Platform:
    """A platform whose queue workers never start: queued casts stay queued."""
    return Platform.build(server_settings, runtimes=runtimes, database=database)


@pytest.fixture
async def idle_client(
    idle_platform: Platform, server_settings: ServerSettings
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(server_settings, platform=idle_platform, manage=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://spell.test"
    ) as http:
        yield http


async def test_queue_depth_is_the_number_of_queued_casts(
    idle_client: httpx.AsyncClient, idle_platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(idle_client, idle_platform)
    await publish(idle_client, maker, tmp_path, "acme/hello")
    caster = seed_user(idle_platform, "caster@example.com", ["caster"])
    assert value(await scrape(idle_client), "spell_queue_depth") == 0

    for key in ("q1", "q2"):
        response = await idle_client.post(
            "/v1/spells/acme/hello/cast",
            headers={**caster.headers, "Idempotency-Key": key},
            json={"input": {"name": key}},
        )
        assert response.status_code == 202

    assert value(await scrape(idle_client), "spell_queue_depth") == 2


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}],
    ids=["none", "wrong", "not-bearer"],
)
async def test_metrics_are_refused_without_the_metrics_token(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get("/metrics", headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert "spell_casts_total" not in response.text


async def test_an_api_key_is_not_the_metrics_token(client: httpx.AsyncClient, platform: Platform) -> None:
    operator = seed_user(platform, "ops@example.com", ["caster"])

    response = await client.get("/metrics", headers=operator.headers)

    assert response.status_code == 401


async def test_metrics_are_absent_without_a_metrics_token_configured(
    platform: Platform, server_settings: ServerSettings
) -> None:
    app = create_app(
        dataclasses.replace(server_settings, metrics_token=None), platform=platform, manage=False
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://spell.test"
    ) as http:
        response = await http.get("/metrics", headers=SCRAPE)

        document = (await http.get("/openapi.json")).json()

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert "/metrics" not in document["paths"]


COUNT_ONE = """
import sys
from datetime import UTC, datetime
from spell.platform import metrics
metrics.note_runtime("sha256:x", "wasm")
now = datetime.now(UTC)
metrics.cast_ended(sys.argv[1], "sha256:x", now, now, now)
metrics.revenue("USD", 100)
"""

PREPARE = """
import os, sys
from pathlib import Path
from spell.platform import metrics
metrics.prepare_multiprocess_dir(Path(sys.argv[1]))
print(os.environ["PROMETHEUS_MULTIPROC_DIR"])
"""

SCRAPE_ALL = """
import sys
from spell.platform import metrics
sys.stdout.write(metrics.exposition(lambda: 4).decode())
"""


def test_several_processes_are_summed_through_the_multiprocess_folder(tmp_path: Path) -> None:
    folder = tmp_path / "metrics"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    # the folder is emptied and named for the processes started after (spell serve --processes N)
    (folder / "stale").mkdir(parents=True)
    prepare = PREPARE
    named = subprocess.run(
        [sys.executable, "-c", prepare, str(folder)], env=env, capture_output=True, text=True
    )
    assert named.stdout.strip() == str(folder)
    assert list(folder.iterdir()) == []
    env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    for status in ("succeeded", "succeeded", "failed"):
        subprocess.run([sys.executable, "-c", COUNT_ONE, status], env=env, check=True)

    out = subprocess.run(
        [sys.executable, "-c", SCRAPE_ALL], env=env, check=True, capture_output=True, text=True
    )

    samples: Samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(out.stdout)
        for sample in family.samples
    }
    assert value(samples, "spell_casts_total", status="succeeded", runtime="wasm") == 2
    assert value(samples, "spell_casts_total", status="failed", runtime="wasm") == 1
    assert value(samples, "spell_revenue_micros_total", currency="USD") == 300
    assert value(samples, "spell_cast_duration_seconds_count", runtime="wasm") == 3
    assert value(samples, "spell_queue_depth") == 4
