from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from spell.runtimes.egress import EgressPolicy
from spell.runtimes.host import EngineSettings
from tests.runtimes.host.bundles import cast, make_bundle

# The test server listens on 127.0.0.1, which only an operator (or a local policy) may open.
LOOPBACK = EngineSettings(egress=EgressPolicy.loopback_allowed())


class _Handler(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        _Handler.received.append(
            {
                "path": self.path,
                "method": self.command,
                "body": body,
                "headers": {k.lower(): v for k, v in self.headers.items()},
            }
        )
        status = int(self.path.rsplit("/", 1)[-1]) if self.path.startswith("/status/") else 200
        payload = json.dumps({"ok": status < 300, "items": [{"id": 7}]}).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.received = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _http_bundle(root: Path, definition: dict[str, Any], **extra: Any) -> Path:
    return make_bundle(
        root,
        [{"uses": "http", "name": "call", "run": "steps/call.json"}],
        {"steps/call.json": json.dumps(definition)},
        **extra,
    )


def test_http_step_sends_templated_json_and_keeps_the_response(tmp_path: Path, server: str) -> None:
    definition = {
        "method": "POST",
        "url": "{{INPUT.base}}/echo",
        "headers": {"x-token": "{{ENV.CONNECTOR_API_TOKEN}}"},
        "body": {"text": "{{INPUT.text}}", "n": "{{INPUT.n}}"},
    }
    bundle = _http_bundle(tmp_path / "b", definition)
    result = cast(
        bundle,
        {"base": server, "text": "cost $& and $$ too", "n": 4},
        env={"CONNECTOR_API_TOKEN": "t0k"},
        settings=LOOPBACK,
    )
    assert result.outcome == "SUCCEEDED", result.message
    sent = _Handler.received[0]
    assert json.loads(sent["body"]) == {"text": "cost $& and $$ too", "n": 4}
    assert sent["headers"]["x-token"] == "t0k"
    assert result.output["step.call.json"]["items"][0]["id"] == 7
    assert result.details["steps"][0]["http_status"] == 200
    assert result.usage.network_requests == 1


@pytest.mark.parametrize("status", [500, 404, 302])
def test_non_2xx_response_fails_the_step(tmp_path: Path, server: str, status: int) -> None:
    bundle = _http_bundle(tmp_path / "b", {"method": "GET", "url": f"{server}/status/{status}"})
    result = cast(bundle, settings=LOOPBACK)
    assert result.outcome == "FAILED"
    assert f"-> {status}" in result.message


def test_unreachable_host_fails_the_step(tmp_path: Path) -> None:
    bundle = _http_bundle(tmp_path / "b", {"method": "GET", "url": "http://127.0.0.1:9/nothing"})
    result = cast(bundle, settings=LOOPBACK)
    assert result.outcome == "FAILED"
    assert "request failed" in result.message


def test_malformed_definition_fails_the_step(tmp_path: Path) -> None:
    bundle = _http_bundle(tmp_path / "b", {"method": "BREW", "url": "http://x"})
    assert cast(bundle).outcome == "FAILED"
    bundle = _http_bundle(tmp_path / "c", {"method": "GET", "url": "file:///etc/passwd"})
    assert cast(bundle).outcome == "FAILED"


def test_http_status_check_reads_the_step_status_or_fetches_a_url(tmp_path: Path, server: str) -> None:
    checks = [
        {"type": "http_status", "params": {"step": "call", "expect": 200}},
        {"type": "http_status", "params": {"url": f"{server}/status/204", "expect": 204}},
        {
            "type": "jsonpath_equals",
            "params": {"from_output": "step.call.json", "path": "items.0.id", "expected": 7},
        },
    ]
    bundle = _http_bundle(tmp_path / "b", {"method": "GET", "url": f"{server}/ok"}, checks=checks)
    result = cast(bundle, settings=LOOPBACK)
    assert result.outcome == "SUCCEEDED", result.details["checks"]
    assert [c["success"] for c in result.details["checks"]] == [True, True, True]


def test_a_step_to_loopback_is_a_policy_violation_by_default(tmp_path: Path, server: str) -> None:
    bundle = _http_bundle(tmp_path / "b", {"method": "GET", "url": f"{server}/ok"})
    result = cast(bundle)
    assert result.outcome == "POLICY_VIOLATION"
    assert result.details["code"] == "EGRESS_DENIED"
    assert [v["reason"] for v in result.violations] == ["ip_literal"]
    assert result.usage.network_requests == 0
    assert _Handler.received == []


def test_a_check_that_fetches_loopback_fails_by_default(tmp_path: Path, server: str) -> None:
    checks = [{"type": "http_status", "params": {"url": f"{server}/status/204", "expect": 204}}]
    bundle = make_bundle(
        tmp_path / "b",
        [{"uses": "shell", "name": "main", "run": "steps/main.sh"}],
        {"steps/main.sh": "#!/bin/sh\nexit 0\n"},
        checks=checks,
    )
    result = cast(bundle)
    assert result.outcome == "FAILED"
    assert "egress denied (ip_literal)" in result.details["checks"][0]["message"]
    assert _Handler.received == []
