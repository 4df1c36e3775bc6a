"""``spell cast`` of the ``samples/http-call`` example: loopback only when the local policy opens it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from spell.config.home import SpellHome
from tests.cli.run_cli import CliResult, run_cli
from tests.local.harness import EXAMPLES, install, use_home
from tests.runtimes.egress.world import Local, local_server

LOOPBACK_HOSTS = ["127.0.0.1", "2130706433", "127.1", "0x7f.1", "[::1]", "localhost"]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SpellHome:
    home = use_home(tmp_path, monkeypatch)
    install(EXAMPLES / "http-call", sign=False)
    return home


@pytest.fixture
def local() -> Iterator[Local]:
    with local_server() as served:
        yield served


def _fetch(url: str) -> CliResult:
    return run_cli("cast", "samples/http-call", "-p", f"url={url}", "-p", "note=n", "--json")


def _set_policy(home: SpellHome, tmp_path: Path, network: dict[str, bool]) -> None:
    candidate = tmp_path / "policy.json"
    candidate.write_text(json.dumps({"version": "v1", "default": "allow", "network": network}))
    assert run_cli("policy", "set", "--file", str(candidate)).exit_code == 0


@pytest.mark.parametrize("host", LOOPBACK_HOSTS)
def test_the_example_cannot_reach_loopback_without_a_policy(home: SpellHome, local: Local, host: str) -> None:
    result = _fetch(local.url("/x", host))
    assert result.exit_code != 0
    assert result.json()["outcome"] == "POLICY_VIOLATION"
    assert "egress denied" in result.json()["message"]
    assert result.error()["details"]["outcome"] == "POLICY_VIOLATION"
    assert local.seen == []


def test_a_policy_that_does_not_open_loopback_keeps_it_closed(
    home: SpellHome, local: Local, tmp_path: Path
) -> None:
    _set_policy(home, tmp_path, {"allow_loopback": False, "allow_http": True})
    assert _fetch(local.url("/x")).json()["outcome"] == "POLICY_VIOLATION"
    assert local.seen == []


def test_the_example_reaches_a_local_server_when_the_policy_opens_loopback(
    home: SpellHome, local: Local, tmp_path: Path
) -> None:
    _set_policy(home, tmp_path, {"allow_loopback": True})
    for host in ("127.0.0.1", "localhost"):
        result = _fetch(local.url("/x", host))
        assert result.exit_code == 0, result.stdout + result.stderr
        assert result.json()["outputs"]["step.fetch.json"] == {"hello": f"{host}:{local.port}"}
    assert local.seen == ["GET /x", "GET /x"]


def test_an_unknown_network_key_in_the_policy_is_refused(home: SpellHome, tmp_path: Path) -> None:
    candidate = tmp_path / "policy.json"
    candidate.write_text('{"version": "v1", "default": "allow", "network": {"allow_everything": true}}')
    result = run_cli("policy", "validate", "--file", str(candidate), "--json")
    assert result.error()["code"] == "INVALID_POLICY"
