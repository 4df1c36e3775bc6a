"""Server logs: JSON lines (python-json-logger) carrying the request id and the cast id, one access line
per request by default."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from spell.api import create_app
from spell.config.server import ServerSettings
from spell.platform import logs
from spell.platform.server import Platform
from tests.fixtures.server import publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """The server's JSON log lines for one test (the root logger as it was, after)."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    stream = io.StringIO()
    logs.configure("info", "json", stream=stream)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_the_access_line_of_a_cast_is_json_with_its_request_id_and_cast_id(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, log_stream: io.StringIO
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path, "acme/hello")
    caster = seed_user(platform, "caster@example.com", ["caster"])
    headers = {**caster.headers, "Idempotency-Key": "k", "Prefer": "wait=10", "X-Request-Id": "req-logs-1"}

    response = await client.post("/v1/spells/acme/hello/cast", headers=headers, json={"input": {"name": "a"}})
    read = await client.get(f"/v1/casts/{response.json()['id']}", headers=caster.headers)

    access = [line for line in lines(log_stream) if line["logger"] == "spell.access"]
    cast_line = next(line for line in access if line["path"] == "/v1/spells/acme/hello/cast")
    assert cast_line["request_id"] == "req-logs-1"
    assert cast_line["cast_id"] == response.json()["id"]
    assert cast_line["status"] == 200
    assert cast_line["method"] == "POST"
    assert cast_line["level"] == "INFO"
    assert cast_line["duration_ms"] > 0
    read_line = next(line for line in access if line["path"].startswith("/v1/casts/"))
    assert read_line["cast_id"] == response.json()["id"]
    assert read_line["request_id"] == read.headers["x-request-id"]
    assert read_line["request_id"] != "req-logs-1"


async def test_a_line_logged_while_a_cast_runs_carries_its_cast_id(log_stream: io.StringIO) -> None:
    with logs.cast_context("cast_123"):
        logging.getLogger("spell.platform.cast.runner").warning("the runtime is slow")
    logging.getLogger("spell.platform.cast.runner").warning("between casts")

    first, second = lines(log_stream)
    assert first["cast_id"] == "cast_123"
    assert first["message"] == "the runtime is slow"
    assert second["cast_id"] is None


async def test_no_access_line_when_the_access_log_is_off(
    platform: Platform, server_settings: ServerSettings, log_stream: io.StringIO
) -> None:
    app = create_app(dataclasses.replace(server_settings, access_log=False), platform=platform, manage=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://spell.test"
    ) as http:
        assert (await http.get("/healthz")).status_code == 200

    assert [line for line in lines(log_stream) if line["logger"] == "spell.access"] == []


def test_text_logs_name_the_ids_and_configuring_again_replaces_the_handler() -> None:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    stream = io.StringIO()
    try:
        logs.configure("info", "json", stream=io.StringIO())
        logs.configure("warning", "text", stream=stream)
        token = logs.REQUEST_ID.set("req-9")
        try:
            logging.getLogger("spell.test").info("not at warning")
            logging.getLogger("spell.test").warning("shown")
        finally:
            logs.REQUEST_ID.reset(token)
        ours = [h for h in root.handlers if h not in handlers]
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)

    assert len(ours) == 1
    (line,) = stream.getvalue().splitlines()
    assert "WARNING spell.test [req-9 None] shown" in line
