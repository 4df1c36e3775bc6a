"""Fair share of the cast threads: one tenant's casts hold at most its share of the queue workers and
of the inline slots; its further casts wait queued (none refused, none dropped) while another tenant's
casts still run."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from spell.config.server import ServerSettings
from spell.platform.cast.slots import TenantSlots
from spell.platform.server import Platform
from spell.runtimes.base import CastRequest, CastResult, Runtime
from spell.runtimes.wasm import WasmRuntime
from tests.fixtures.server import Caller, publish, seed_maker, seed_user


class GatedRuntime:
    """The real WASM runtime behind a gate: a cast whose input name is ``sleep`` is a slow cast that
    holds its thread until the gate opens (counted as started, so tests wait on events, not time)."""

    def __init__(self, inner: Runtime) -> None:
        self.inner = inner
        self.gate = threading.Event()
        self._started = 0
        self._changed = threading.Condition()

    def run(self, request: CastRequest) -> CastResult:
        if isinstance(request.input, dict) and request.input.get("name") == "sleep":
            with self._changed:
                self._started += 1
                self._changed.notify_all()
            self.gate.wait(120)
        return self.inner.run(request)

    @property
    def started(self) -> int:
        with self._changed:
            return self._started

    def wait_started(self, count: int) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: self._started >= count, timeout=60), self._started


@pytest.fixture
def gated(wasm_runtime: WasmRuntime) -> Iterator[GatedRuntime]:
    runtime = GatedRuntime(wasm_runtime)
    yield runtime
    runtime.gate.set()  # never leave a worker thread at the gate


@pytest.fixture
def runtimes(gated: GatedRuntime) -> dict[str, Runtime]:
    return {"wasm": gated}


@pytest.fixture
def server_settings(server_settings: ServerSettings) -> ServerSettings:
    # Every ``Prefer: wait`` cast on a cast thread: a quick attempt would run on the event loop.
    return dataclasses.replace(server_settings, workers=4, inline_casts=4, tenant_casts=2, quick_casts=False)


async def _cast(
    http: httpx.AsyncClient, caller: Caller, key: str, name: str, **headers: str
) -> httpx.Response:
    response = await http.post(
        "/v1/spells/acme/hello/cast",
        json={"input": {"name": name}},
        headers={**caller.headers, "Idempotency-Key": key, **headers},
    )
    assert response.status_code in {200, 202}, response.text
    return response


async def _statuses(http: httpx.AsyncClient, caller: Caller) -> list[str]:
    listed = await http.get("/v1/casts", params={"limit": 100}, headers=caller.headers)
    return sorted(item["status"] for item in listed.json()["items"])


@pytest.mark.anyio
async def test_a_tenant_at_its_share_leaves_workers_and_inline_slots_to_another_tenant(
    client: httpx.AsyncClient, platform: Platform, gated: GatedRuntime, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    tenant_a = seed_user(platform, "a@example.com", ["caster"])
    tenant_b = seed_user(platform, "b@example.com", ["caster"])
    waited: list[httpx.Response] = []

    async def cast_and_wait(key: str) -> None:
        waited.append(await _cast(client, tenant_a, key, "sleep", Prefer="wait=60"))

    async with anyio.create_task_group() as group:
        # A: six queued casts, then four that wait inline: every worker and inline slot, were there no share
        queued = [(await _cast(client, tenant_a, f"a-q{n}", "sleep")).json()["id"] for n in range(6)]
        for n in range(4):
            group.start_soon(cast_and_wait, f"a-w{n}")
        await anyio.to_thread.run_sync(gated.wait_started, 4)  # 2 of 4 workers + 2 of 4 inline slots

        # B's casts, queued and inline, run and end while A's are all still held
        b_queued = (await _cast(client, tenant_b, "b-q", "b")).json()["id"]
        ended = await client.get(f"/v1/casts/{b_queued}", params={"wait": 20}, headers=tenant_b.headers)
        assert ended.json()["status"] == "succeeded"
        inline = await _cast(client, tenant_b, "b-w", "b", Prefer="wait=20")
        assert inline.status_code == 200
        assert inline.json()["status"] == "succeeded"
        assert gated.started == 4  # A held its share and no more
        assert await _statuses(client, tenant_a) == ["queued"] * 6 + ["running"] * 4

        gated.gate.set()  # A's casts end; the queued ones take A's freed slots in turn
    for cast_id in queued:
        done = await client.get(f"/v1/casts/{cast_id}", params={"wait": 30}, headers=tenant_a.headers)
        assert done.json()["status"] == "succeeded"
    assert sorted(response.status_code for response in waited) == [200] * 4
    assert await _statuses(client, tenant_a) == ["succeeded"] * 10


def test_slots_cap_each_tenant_and_wake_a_waiter_when_one_frees() -> None:
    slots = TenantSlots(2)
    woken: list[str] = []
    assert slots.take("a")
    assert slots.take("a")
    assert not slots.take("a", or_wait=lambda: woken.append("first"))
    assert not slots.take("a", or_wait=lambda: woken.append("second"))
    assert slots.take("b")  # another tenant's share is its own
    assert slots.running("a") == 2
    slots.give_back("a")
    assert woken == ["first"]
    slots.give_back("a")
    assert woken == ["first", "second"]
    slots.give_back("b")
    assert (slots.running("a"), slots.running("b")) == (0, 0)
    uncapped = TenantSlots(0)
    assert all(uncapped.take("a") for _ in range(100))
    uncapped.give_back("a")
    with pytest.raises(ValueError, match="per_tenant"):
        TenantSlots(-1)
