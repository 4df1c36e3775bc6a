from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from spell.config.home import SpellHome
from spell.config.wasm import WasmSettings
from spell.kit.time import utcnow
from spell.local import CastOptions, LocalContext, Retention, RuntimeChoice, cast_local
from spell.local.logs import ExecutionLogs
from spell.runtimes.base import CastRequest, CastResult, Outcome
from tests.local.harness import use_home
from tests.local.wasm_spells import wasm_spell


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SpellHome:
    return use_home(tmp_path, monkeypatch)


def _ctx(home: SpellHome) -> LocalContext:
    return LocalContext(home=home, environ={}, input_max_bytes=65536, now=utcnow())


@pytest.mark.parametrize("wat", ["infinite_loop", "sleeper"])
def test_canceling_a_local_cast_stops_its_running_wasm_guest(
    tmp_path: Path, home: SpellHome, wat: str
) -> None:
    spell = wasm_spell(tmp_path, wat, wat, fuel=10**15, timeout_ms=30_000)
    cancel = threading.Event()

    def stage(name: str) -> None:
        if name == "run":  # the guest is about to start: cancel it while it runs
            threading.Timer(0.05, cancel.set).start()

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(
            cast_local,
            CastOptions(spell),
            _ctx(home),
            choice=RuntimeChoice(),
            retention=Retention(),
            cancel=cancel,
            stage=stage,
        )
        result = future.result(timeout=20)  # far less than the guest's 30 s wall clock
    assert result.outcome is Outcome.CANCELED
    assert ExecutionLogs(home.logs).read(result.execution_id)["outcome"] == "CANCELED"


def test_a_cancel_set_before_the_run_ends_the_wasm_cast_before_it_starts(
    tmp_path: Path, home: SpellHome
) -> None:
    spell = wasm_spell(tmp_path, "spin", "infinite_loop", fuel=10**15, timeout_ms=30_000)
    cancel = threading.Event()
    cancel.set()
    result = cast_local(
        CastOptions(spell), _ctx(home), choice=RuntimeChoice(), retention=Retention(), cancel=cancel
    )
    assert result.outcome is Outcome.CANCELED
    assert result.record["usage"]["fuel"] == 0


class _Recording:
    """A runtime that keeps the request it was given."""

    def __init__(self) -> None:
        self.requests: list[CastRequest] = []

    def run(self, request: CastRequest) -> CastResult:
        self.requests.append(request)
        return CastResult(Outcome.SUCCEEDED, output={})


def test_a_local_wasm_cast_hands_its_runtime_the_cancel_and_the_capped_limits_on_the_request(
    tmp_path: Path, home: SpellHome
) -> None:
    spell = wasm_spell(tmp_path, "greedy", "short_sleep", timeout_ms=120_000, fuel=10**15)
    maxima = WasmSettings(max_timeout_ms=5_000, max_fuel=10**9)
    recording = _Recording()
    choice = RuntimeChoice(wasm_factory=lambda: recording, wasm_settings=maxima)
    cancel = threading.Event()

    result = cast_local(CastOptions(spell), _ctx(home), choice=choice, retention=Retention(), cancel=cancel)

    assert result.outcome is Outcome.SUCCEEDED
    [request] = recording.requests  # the factory's runtime itself ran it, not an adapter around it
    assert request.cancel is cancel
    assert (request.limits.timeout_ms, request.limits.fuel) == (5_000, 10**9)  # as the platform caps them
    assert result.summary["runtime"]["wasm"]["timeout_ms"] == request.limits.timeout_ms
