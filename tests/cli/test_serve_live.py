"""``spell serve --demo`` as a user runs it: a live uvicorn server, the printed curl cast works."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
SPELL = Path(sys.executable).parent / "spell"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _until_ready(url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)  # readiness polling of a child process, not a wait for test logic
    raise AssertionError(f"{url} never answered")


def test_serve_demo_prints_a_working_curl_cast_and_its_result(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "SPELL_HOME": str(tmp_path / "home")}
    env.pop("SPELL_DATABASE_URL", None)
    env.pop("SPELL_QUEUE_URL", None)
    proc = subprocess.Popen(
        [str(SPELL), "serve", "--demo", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _until_ready(f"http://127.0.0.1:{port}/healthz", proc)
        assert proc.stdout is not None
        printed = ""
        while "run just now:" not in printed or not printed.endswith("\n}\n"):  # the result ends at column 0
            line = proc.stdout.readline()
            assert line, printed
            printed += line
        result = json.loads(printed.split("run just now:", 1)[1])
        assert result["status"] == "succeeded"
        token = re.search(r"sk_live_[A-Za-z0-9_-]+", printed)
        assert token is not None
        assert f"http://127.0.0.1:{port}/v1/spells/samples/hello-wasm/cast" in printed
        assert f"console: http://127.0.0.1:{port}/sign-in" in printed
        response = httpx.post(
            f"http://127.0.0.1:{port}/v1/spells/samples/hello-wasm/cast",
            headers={
                "Authorization": f"Bearer {token.group(0)}",
                "Idempotency-Key": "live",
                "Prefer": "wait=10",
            },
            json={"input": {"name": "live"}},
            timeout=30,
        )
        assert response.json()["status"] == "succeeded"
        assert response.json()["output"]["input"] == {"name": "live"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_serve_keeps_the_public_url_the_operator_set(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "SPELL_HOME": str(tmp_path / "home"),
        "SPELL_SERVER_PUBLIC_URL": "https://spell.example.test",
    }
    env.pop("SPELL_DATABASE_URL", None)
    env.pop("SPELL_QUEUE_URL", None)
    proc = subprocess.Popen(
        [str(SPELL), "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _until_ready(f"http://127.0.0.1:{port}/healthz", proc)
        assert proc.stderr is not None
        line = ""
        while "serving on" not in line:
            line = proc.stderr.readline()
            assert line, "spell serve ended before saying where it serves"
        assert f"serving on http://127.0.0.1:{port} as https://spell.example.test " in line
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
