"""The pooled engine: instance slots reused with zeroed memory, the same outcomes as without a pool."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest
import wasmtime

from spell.config.wasm import WasmSettings
from spell.runtimes.base import Outcome
from spell.runtimes.wasm import WasmRuntime, engine, sandbox
from spell.runtimes.wasm.engine import EngineConfig, pool_fits, shared_engine
from tests.runtimes.wasm.conftest import MakeCast

_TiB = 1 << 40


@pytest.fixture(params=[1, 0], ids=["pooled-one-slot", "on-demand"])
def any_runtime(request: pytest.FixtureRequest) -> Iterator[WasmRuntime]:
    """A runtime with a one-slot pool, and one allocating each instance afresh."""
    rt = WasmRuntime(WasmSettings(max_memory_bytes=64 << 20), tick_s=0.002, instance_slots=request.param)
    yield rt
    rt.close()


def test_the_pool_is_used_only_where_its_address_space_can_be_reserved() -> None:
    config = EngineConfig(instance_slots=8)
    assert pool_fits(config, address_space_limit=None)
    assert pool_fits(config, address_space_limit=_TiB)
    assert not pool_fits(config, address_space_limit=64 << 30)
    assert not pool_fits(EngineConfig(instance_slots=0), address_space_limit=None)


@pytest.mark.parametrize(
    ("knob", "value"),
    [("_address_space_limit", lambda: 8 << 30), ("_reservable", lambda _size: False)],
    ids=["address-space-limit", "reservation-refused"],
)
def test_without_room_for_the_pool_casts_run_on_demand(
    make_cast: MakeCast, monkeypatch: pytest.MonkeyPatch, knob: str, value: Any
) -> None:
    monkeypatch.setattr(engine, knob, value)
    slots = 3 if knob == "_reservable" else 5  # an engine of its own for each case
    shared = shared_engine(EngineConfig(instance_slots=slots), tick_s=0.004)
    assert shared.ticker.capacity is None
    rt = WasmRuntime(instance_slots=slots, tick_s=0.004)
    assert rt.run(make_cast("hello", input=1)).output == {"greeting": "hello", "input": 1}
    rt.close()


def test_a_reservation_probe_fails_past_the_address_space_and_succeeds_within() -> None:
    assert engine._reservable(1 << 30)
    assert not engine._reservable(1 << 62)


def test_a_pooled_engine_admits_one_cast_per_instance_slot() -> None:
    ticker = shared_engine(EngineConfig(instance_slots=2), tick_s=0.004).ticker
    assert ticker.capacity == 2
    assert ticker.enter(0)
    assert ticker.enter(0)
    assert not ticker.enter(0.01)
    ticker.leave()
    assert ticker.enter(0)
    ticker.leave()
    ticker.leave()
    assert ticker.wait_idle(1.0)
    ticker.close()


def test_a_reused_slot_starts_with_zeroed_memory(any_runtime: WasmRuntime, make_cast: MakeCast) -> None:
    request = make_cast("memory_probe")
    outputs = [any_runtime.run(request).output for _ in range(3)]
    assert outputs == [0, 0, 0]


@pytest.mark.parametrize(
    ("wat", "reason"),
    [
        ('(module (table 2000000 funcref) (func (export "_start")))', "table_limit"),
        ("(module " + "(table 1 funcref) " * 17 + '(func (export "_start")))', "table_limit"),
        ('(module (memory i64 70000) (func (export "_start")))', None),
    ],
    ids=["table-past-every-slot", "seventeen-tables", "memory64-past-4-GiB"],
)
def test_a_module_past_every_slot_is_over_a_limit_with_or_without_the_pool(
    any_runtime: WasmRuntime, make_cast: MakeCast, wat: str, reason: str | None
) -> None:
    result = any_runtime.run(make_cast(bytes(wasmtime.wat2wasm(wat))))
    assert result.outcome is Outcome.MEMORY_LIMIT
    assert result.details.get("reason") == reason


def test_a_cast_waits_for_a_slot_only_within_its_wall_clock(
    make_cast: MakeCast, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = WasmRuntime(WasmSettings(max_memory_bytes=64 << 20), tick_s=0.002, instance_slots=1)
    running = threading.Event()
    patchable: Any = sandbox
    real_attach = patchable.attach_watch

    def attach(store: Any, watch: Any) -> int:
        running.set()
        key: int = real_attach(store, watch)
        return key

    monkeypatch.setattr(sandbox, "attach_watch", attach)
    cancel = threading.Event()
    sleeper = replace(make_cast("sleeper", timeout_ms=20_000), cancel=cancel)
    with ThreadPoolExecutor(1) as pool:
        holding = pool.submit(rt.run, sleeper)
        assert running.wait(10)
        waited = rt.run(make_cast("hello", timeout_ms=50))
        cancel.set()
        assert holding.result(timeout=10).outcome is Outcome.CANCELED
    assert waited.outcome is Outcome.TIMEOUT
    assert waited.details == {"reason": "no_instance_slot"}
    assert 50 <= waited.usage.wall_ms < 5000
    assert rt.run(make_cast("hello", input=2)).output == {"greeting": "hello", "input": 2}
    rt.close()
