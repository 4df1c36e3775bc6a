"""Output capture: the kernel-capped memory file, and the Python sink used where there is none."""

from __future__ import annotations

import ctypes
import errno
import os
import threading
import time
from typing import Any

import pytest
import wasmtime

from spell.runtimes.base import Outcome
from spell.runtimes.wasm import WasmRuntime, capture
from spell.runtimes.wasm.capture import LOG_BYTES, CappedSink, MemfdSink, log_tail, open_output, wait_released
from spell.runtimes.wasm.interrupt import Watch
from tests.runtimes.wasm.conftest import MakeCast

native_only = pytest.mark.skipif(not capture.NATIVE_OUTPUT, reason="memory files are Linux-only")
_MIB = 1024 * 1024


class _Handed:
    """A stand-in for a ``wasi_config_set_*_custom`` setter that keeps what it was given."""

    def __init__(self) -> None:
        self.fd: int | None = None

    def __call__(self, _config: Any, _write: Any, data: ctypes.c_void_p, _close: Any) -> None:
        self.fd = data.value


@pytest.fixture(params=["memfd", "python"])
def sinks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with each kind of output sink."""
    if request.param == "memfd" and not capture.NATIVE_OUTPUT:
        pytest.skip("memory files are Linux-only")
    monkeypatch.setattr(capture, "NATIVE_OUTPUT", request.param == "memfd")
    return str(request.param)


@native_only
def test_a_memory_file_keeps_the_bytes_up_to_the_cap_and_refuses_growth() -> None:
    sink = MemfdSink("stdout", 10)
    handed = _Handed()
    sink.connect(wasmtime.WasiConfig(), handed)
    assert handed.fd is not None
    try:
        assert os.write(handed.fd, b"0123456789") == 10
        assert not sink.overflowed
        os.write(handed.fd, b"A")
        assert sink.overflowed
        big = b"B" * (2 * capture._PAGE)
        assert os.write(handed.fd, big) < len(big)  # only up to the file's end
        with pytest.raises(PermissionError):  # past it the kernel says no (EPERM)
            os.write(handed.fd, big)
        assert sink.finish() == b"0123456789"
        assert sink.attempted > sink.limit
        assert sink.overflowed  # still answered once this side is closed
    finally:
        os.close(handed.fd)  # what wasmtime does when it releases the stream


@native_only
def test_a_memory_file_is_handed_to_wasmtime_once() -> None:
    sink = MemfdSink("stderr", 64)
    handed = _Handed()
    sink.connect(wasmtime.WasiConfig(), handed)
    assert handed.fd is not None
    os.close(handed.fd)
    with pytest.raises(ValueError, match="already connected"):
        sink.connect(wasmtime.WasiConfig(), handed)
    assert sink.finish() == b""
    sink.close()  # idempotent


@native_only
def test_a_memory_file_never_handed_over_closes_both_descriptors() -> None:
    before = len(os.listdir("/proc/self/fd"))
    sink = MemfdSink("stdout", 64)
    assert len(os.listdir("/proc/self/fd")) == before + 2
    sink.close()
    assert len(os.listdir("/proc/self/fd")) == before


def test_without_memory_files_each_stream_gets_a_python_sink(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_memfd(*_args: Any) -> int:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(os, "memfd_create", no_memfd, raising=False)
    watch = Watch(timeout_s=1.0, cancel=None)
    stdout, stderr = open_output(
        wasmtime.WasiConfig(), stdout_limit=8, stderr_limit=8, watch=watch, native=True
    )
    assert isinstance(stdout, CappedSink)
    assert isinstance(stderr, CappedSink)
    assert watch.outputs == (stdout, stderr)


def test_a_cast_without_memory_files_still_succeeds(
    runtime: WasmRuntime, make_cast: MakeCast, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_memfd(*_args: Any) -> int:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(os, "memfd_create", no_memfd, raising=False)
    result = runtime.run(make_cast("hello", input={"n": 1}))
    assert result.outcome is Outcome.SUCCEEDED
    assert result.output == {"greeting": "hello", "input": {"n": 1}}
    assert wait_released(5.0)


def test_the_watch_names_the_first_stream_past_its_cap() -> None:
    watch = Watch(timeout_s=1.0, cancel=None)
    quiet, loud = CappedSink("stdout", 4, watch), CappedSink("stderr", 4, watch)
    watch.outputs = (quiet, loud)
    assert watch.check() is None
    loud.attempted = 5  # as if written through a stream that does not report to the watch itself
    assert watch.check() == "output"
    assert watch.output_overflow == "stderr"


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_a_flood_stops_at_the_cap_with_either_sink(
    runtime: WasmRuntime, make_cast: MakeCast, sinks: str, stream: str
) -> None:
    result = runtime.run(make_cast(f"{stream}_flood", max_output_mb=1, fuel=10**15, timeout_ms=10_000))
    assert result.outcome is Outcome.OUTPUT_LIMIT, sinks
    kept = result.stdout if stream == "stdout" else result.stderr
    limit = _MIB if stream == "stdout" else runtime.settings.max_stderr_bytes
    assert len(kept.encode()) == limit
    attempted = result.usage.stdout_bytes if stream == "stdout" else result.usage.stderr_bytes
    assert attempted > limit
    assert result.usage.wall_ms < 5000


def test_a_burst_past_the_cap_that_ends_at_once_is_an_output_limit(
    runtime: WasmRuntime, make_cast: MakeCast, sinks: str
) -> None:
    result = runtime.run(make_cast("stdout_burst", max_output_mb=1))
    assert result.outcome is Outcome.OUTPUT_LIMIT, sinks
    assert result.stdout == "B" * _MIB
    assert result.message == f"stdout passed its limit of {_MIB} bytes"


def test_output_within_the_cap_is_kept_whole_with_either_sink(
    runtime: WasmRuntime, make_cast: MakeCast, sinks: str
) -> None:
    result = runtime.run(make_cast("fail_with_stderr"))
    assert result.outcome is Outcome.FAILED, sinks
    assert result.usage.stderr_bytes == len(result.stderr.encode()) > 0
    hello = runtime.run(make_cast("hello", input={"k": "v"}))
    assert hello.output == {"greeting": "hello", "input": {"k": "v"}}
    assert hello.usage.stdout_bytes == len(hello.stdout.encode())


@native_only
def test_memory_files_are_closed_once_wasmtime_releases_them(
    runtime: WasmRuntime, make_cast: MakeCast
) -> None:
    request = make_cast("hello", input={})
    runtime.run(request)
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(100):
        assert runtime.run(request).outcome is Outcome.SUCCEEDED
    # wasmtime closes its descriptors on its own threads, shortly after each store is gone
    deadline = time.monotonic() + 5.0
    idle = threading.Event()
    while len(os.listdir("/proc/self/fd")) > before and time.monotonic() < deadline:
        idle.wait(0.01)
    assert len(os.listdir("/proc/self/fd")) <= before


def test_a_log_keeps_the_whole_stream_when_it_fits() -> None:
    assert log_tail(b"one\ntwo\n") == "one\ntwo\n"
    assert log_tail(b"") == ""


def test_a_log_keeps_the_tail_and_says_how_much_was_cut() -> None:
    text = log_tail(b"a" * 10 + b"the end", limit=7)
    assert text == "[… 10 bytes cut …]\nthe end"


def test_a_log_counts_bytes_the_capture_cap_already_dropped() -> None:
    assert log_tail(b"tail", written=1000) == "[… 996 bytes cut …]\ntail"


def test_a_failed_guest_returns_its_stderr_as_a_log(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    result = runtime.run(make_cast("fail_with_stderr"))
    assert result.log == "boom: the input was wrong\n"


def test_a_flooding_guest_returns_only_the_last_log_bytes(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    result = runtime.run(make_cast("stderr_flood", fuel=10**15))
    assert result.outcome is Outcome.OUTPUT_LIMIT
    marker, _, kept = result.log.partition("\n")
    assert marker.startswith("[… ")
    assert marker.endswith(" bytes cut …]")
    assert kept == "A" * LOG_BYTES
    assert int(marker.split()[1]) == result.usage.stderr_bytes - LOG_BYTES
