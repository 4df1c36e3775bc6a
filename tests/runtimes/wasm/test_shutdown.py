"""At interpreter exit no thread is left inside wasmtime: running guests are canceled, sinks released.

Each test runs a fresh interpreter, because exit is the behaviour under test.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from spell.runtimes.base import Outcome
from spell.runtimes.wasm import WasmRuntime
from spell.runtimes.wasm.capture import wait_released
from tests.runtimes.wasm.conftest import ASSETS, MakeCast

_SCRIPT = textwrap.dedent(
    """
    import atexit, sys, threading
    from pathlib import Path
    import wasmtime
    from spell.bundle.manifest import IoSpec, RuntimeSpec, SpellManifest, WasmSpec
    from spell.runtimes.base import CastRequest
    from spell.runtimes.wasm import WasmRuntime, capture, sandbox

    threads, outcomes = [], []

    def report():  # registered before the runtime's hook, so it runs after it
        for thread in threads:
            thread.join(timeout=10)
        print(" ".join(sorted(outcomes)), flush=True)

    atexit.register(report)
    attached = threading.Semaphore(0)
    real_attach = sandbox.attach_watch
    def attach(store, watch):
        key = real_attach(store, watch)
        attached.release()
        return key
    sandbox.attach_watch = attach

    runtime = WasmRuntime()
    assets, work, sinks, names = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4:]
    capture.NATIVE_OUTPUT = capture.NATIVE_OUTPUT and sinks == "memfd"
    for name in names:
        bundle = work / name
        bundle.mkdir()
        wat = (assets / f"{name}.wat").read_text()
        (bundle / "spell.wasm").write_bytes(bytes(wasmtime.wat2wasm(wat)))
        manifest = SpellManifest(
            id="tests/exit", version="1.0.0", name="exit",
            runtime=RuntimeSpec(execution="wasm", wasm=WasmSpec(fuel=10**15, timeout_ms=60_000)),
            io=IoSpec(),
        )
        request = CastRequest(bundle_dir=bundle, manifest=manifest, input={})
        cast = lambda request=request: outcomes.append(runtime.run(request).outcome.value)
        threads.append(threading.Thread(target=cast, daemon=True))
        threads[-1].start()
    for _ in names:
        assert attached.acquire(timeout=30)
    print("guests running; exiting", flush=True)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("sinks", ["memfd", "python"])
def test_exit_with_guests_running_on_daemon_threads_is_clean_and_prompt(tmp_path: Path, sinks: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(ASSETS), str(tmp_path), sinks, "infinite_loop", "sleeper"],
        capture_output=True,
        text=True,
        timeout=50,  # the guests' own wall clock is 60 s: finishing earlier means they were stopped
        check=False,
    )
    assert (done.returncode, "panic" in done.stderr) == (0, False), done.stderr[-800:]
    assert done.stdout == "guests running; exiting\nCANCELED CANCELED\n"


def test_every_output_sink_is_released_after_a_cast(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    assert runtime.run(make_cast("hello", input={"name": "x"})).outcome is Outcome.SUCCEEDED
    assert wait_released(5.0)
