"""OpenTelemetry spans of real requests, kept by the SDK's in-memory exporter: a request's W3C
``traceparent`` is continued through auth, admit, run and finish, inline and through the queue to a
worker thread; tracing is off (and costs nothing) until a provider is installed."""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from spell.api import create_app
from spell.config.server import ServerSettings
from spell.errors import InvalidInput
from spell.platform import tracing
from spell.platform.cast.service import cast_job
from spell.platform.server import Platform
from spell.queue.base import Job
from spell.queue.memory import MemoryQueue
from tests.fixtures.nats import delete_stream, nats_queue_or_skip
from tests.fixtures.server import Caller, publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
CAST_SPANS = {"spell.auth", "spell.admit", "spell.run", "spell.finish"}


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on, into memory, for one test."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    yield exporter
    tracing.uninstall()
    provider.shutdown()


@pytest.fixture
async def client(
    spans: InMemorySpanExporter, platform: Platform, server_settings: ServerSettings
) -> AsyncIterator[httpx.AsyncClient]:
    """The app built while tracing is on (its request spans wrap everything)."""
    app = create_app(server_settings, platform=platform, manage=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://spell.test"
    ) as http:
        yield http


async def ready(client: httpx.AsyncClient, platform: Platform, tmp_path: Path) -> Caller:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path, "acme/hello")
    return seed_user(platform, "caster@example.com", ["caster"])


async def traced_cast(client: httpx.AsyncClient, caster: Caller, key: str, *, wait: bool) -> str:
    """Cast with the test's ``traceparent``: waiting (run inline), or not (queued); its id once ended."""
    headers = {**caster.headers, "Idempotency-Key": key, "traceparent": TRACEPARENT}
    if wait:
        headers["Prefer"] = "wait=10"
    response = await client.post("/v1/spells/acme/hello/cast", headers=headers, json={"input": {"name": key}})
    assert response.status_code == (200 if wait else 202), response.text
    cast_id: str = response.json()["id"]
    ended = await client.get(f"/v1/casts/{cast_id}?wait=10", headers=caster.headers)
    assert ended.json()["status"] == "succeeded", ended.text
    return cast_id


def in_trace(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    """The spans of the test trace, by name (the last of each name)."""
    return {
        span.name: span
        for span in exporter.get_finished_spans()
        if span.context is not None and format(span.context.trace_id, "032x") == TRACE_ID
    }


async def test_a_traceparent_is_continued_through_auth_admit_run_and_finish(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    caster = await ready(client, platform, tmp_path)
    spans.clear()

    cast_id = await traced_cast(client, caster, "inline", wait=True)

    found = in_trace(spans)
    assert found.keys() >= CAST_SPANS
    assert found["spell.run"].attributes is not None
    assert found["spell.run"].attributes["cast_id"] == cast_id
    assert found["spell.run"].attributes["runtime"] == "wasm"
    server = [span for span in found.values() if span.kind.name == "SERVER"]
    assert server, "the ASGI middleware opened the request's span"


async def test_a_queued_cast_run_by_a_worker_joins_the_request_trace(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    caster = await ready(client, platform, tmp_path)
    spans.clear()

    cast_id = await traced_cast(client, caster, "queued", wait=False)

    found = in_trace(spans)
    assert found.keys() >= CAST_SPANS
    run = found["spell.run"]
    assert run.attributes is not None
    assert run.attributes["cast_id"] == cast_id
    # the worker's run span hangs under the request's trace, not under a span of its own thread
    assert run.parent is not None
    assert format(run.parent.trace_id, "032x") == TRACE_ID


def test_a_queued_job_carries_the_trace_context_while_tracing_is_on(spans: InMemorySpanExporter) -> None:
    with tracing.span("request"):
        job = cast_job("cast_1", "ten_1")
    seen: list[Job] = []
    queue = MemoryQueue()
    queue.start(seen.append, workers=1)
    queue.publish(job)
    queue.stop()

    assert seen[0].trace["traceparent"].startswith("00-")
    with tracing.resumed(seen[0].trace), tracing.span("worker"):
        pass
    request, worker = spans.get_finished_spans()
    assert worker.parent is not None
    assert request.context is not None
    assert worker.parent.span_id == request.context.span_id


def test_tracing_is_off_by_default_spans_are_no_ops_and_jobs_carry_nothing() -> None:
    assert not tracing.is_on()
    with tracing.span("spell.run", cast_id="c") as span:
        assert span is None
    assert cast_job("cast_1", "ten_1").trace == {}
    with tracing.resumed({"traceparent": TRACEPARENT}):
        pass


def test_the_trace_exporter_setting_builds_a_provider_or_none() -> None:
    assert tracing.provider_for("none") is None
    console = tracing.provider_for("console")
    assert isinstance(console, TracerProvider)
    console.shutdown()


def test_an_unknown_trace_exporter_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        tracing.provider_for("zipkin")
    assert refused.value.code == "VALIDATION_ERROR"


def test_the_otlp_exporter_without_its_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes the import fail as if the otel extra were not installed
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)

    with pytest.raises(InvalidInput) as refused:
        tracing.provider_for("otlp")

    assert refused.value.hint is not None
    assert "otel" in refused.value.hint


def test_a_server_with_the_console_exporter_traces_its_requests(
    server_settings: ServerSettings, platform: Platform
) -> None:
    try:
        app = create_app(dataclasses.replace(server_settings, trace_exporter="console"), platform=platform)
        assert tracing.is_on()
        assert any(
            getattr(m.cls, "__name__", "") == OpenTelemetryMiddleware.__name__ for m in app.user_middleware
        )
    finally:
        provider = tracing.installed()
        tracing.uninstall()
        if isinstance(provider, TracerProvider):
            provider.shutdown()


def test_a_job_keeps_its_trace_context_through_nats() -> None:
    queue, stream = nats_queue_or_skip("TRACE")
    seen: list[Job] = []
    arrived = threading.Event()

    def handler(job: Job) -> None:
        seen.append(job)
        arrived.set()

    try:
        queue.publish(Job(name="cast.run", id="cast_t", payload={}, trace={"traceparent": TRACEPARENT}))
        queue.start(handler, workers=1)
        assert arrived.wait(10)
    finally:
        queue.stop()
        delete_stream(stream)

    assert seen[0].trace == {"traceparent": TRACEPARENT}
