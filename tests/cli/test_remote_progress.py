"""What a remote cast shows while it runs: step and log lines from its events, live."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from spell.cli.commands._progress import Progress
from spell.cli.commands._remote_cast import CastDisplay
from spell.client import Client
from spell.client.models import CastEvent
from tests.api.test_host_casts import runtimes, server_settings
from tests.cli.remote_world import login, private_homes
from tests.cli.run_cli import run_cli
from tests.client.live_server import LiveServer, maker_of
from tests.fixtures.bundles import host_bundle
from tests.fixtures.live import database_backend, live
from tests.fixtures.server import Caller

__all__ = ["database_backend", "live", "private_homes", "runtimes", "server_settings"]

ECHO = "#!/bin/sh\necho hi\necho oops >&2\n"
SLEEPY = "#!/bin/sh\nsleep 30\n"


def _publish_host(live: LiveServer, tmp_path: Path, name: str, script: str) -> Caller:
    maker = maker_of(live)
    assert maker.publisher is not None
    bundle = host_bundle(tmp_path / name, f"acme/{name}", script=script, signer=maker.publisher)
    login(live, maker, "maker")
    published = run_cli(
        "publish", str(bundle), "--public-key", maker.publisher.public_key, "--profile", "maker"
    )
    assert published.exit_code == 0, published.stderr
    return maker


def test_a_remote_cast_shows_its_steps_and_logs(live: LiveServer, tmp_path: Path) -> None:
    _publish_host(live, tmp_path, "echo", ECHO)
    cast = run_cli("cast", "acme/echo", "--remote", "--profile", "maker")
    assert cast.exit_code == 0, cast.stderr
    progress = cast.stderr.splitlines()
    steps = [line for line in progress if line.startswith("spell: step run: ")]
    assert steps
    assert len(steps) == len(set(steps))  # each step event is one line
    assert "spell: run stdout | hi" in progress
    assert "spell: run stderr | oops" in progress
    assert progress[-1] == "spell: succeeded"
    cast_id = cast.stdout.split()[0]
    logs = run_cli("casts", "logs", cast_id, "--profile", "maker")
    assert sorted(logs.stdout.splitlines()) == ["run stderr | oops", "run stdout | hi"]


def test_logs_of_a_running_cast_need_follow_and_cancel_stops_it(live: LiveServer, tmp_path: Path) -> None:
    maker = _publish_host(live, tmp_path, "sleepy", SLEEPY)
    with Client(live.url, maker.token) as client:
        cast = client.casts.create("acme/sleepy", {})
    waiting = run_cli("casts", "logs", cast.id, "--profile", "maker", "--json")
    assert (waiting.exit_code, waiting.error()["code"]) == (7, "CONFLICT")
    canceled = run_cli("casts", "cancel", cast.id, "--profile", "maker", "--json")
    assert canceled.json()["status"] == "canceled"
    followed = run_cli("casts", "logs", cast.id, "-f", "--profile", "maker", "--json")
    assert followed.json()["status"] == "canceled"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_steps_and_logs_stay_above_the_spinner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("NO_COLOR", "1")
    screen = _Terminal()
    with Progress("casting", stream=screen) as progress:
        assert progress.animated
        display = CastDisplay(progress)
        display.event(CastEvent(id=1, type="running", data={"status": "running"}))
        display.event(
            CastEvent(id=2, type="progress", data={"event": "started", "step": "run", "detail": ""})
        )
        display.event(CastEvent(id=3, type="log", data={"step": "run", "stream": "stdout", "text": "hi\n"}))
        display.event(CastEvent(id=4, type="succeeded", data={"status": "succeeded"}))
    shown = screen.getvalue()
    assert "step run: started" in shown
    assert "run stdout | hi" in shown
    assert "succeeded" in shown
    assert "spell: " not in shown  # the plain-line form is for pipes and logs


def test_json_shows_no_progress_at_all() -> None:
    screen = _Terminal()
    with Progress("casting", quiet=True, stream=screen) as progress:
        progress.status("running")
        progress.line("step run: started")
    assert screen.getvalue() == ""
