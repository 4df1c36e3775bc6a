"""Run one executable in its own process group, with rlimits, a deadline and cancellation.

Why a process group: a step may fork helpers (and they may fork again). On timeout, cancellation
or normal exit the whole group gets SIGKILL, so nothing a step started outlives the step. A helper
that left the group with ``setsid()`` is only caught by a sandbox with its own PID namespace
(``sandbox.BwrapSandbox``), which is then ended too.
Output goes to files, not pipes, so a grandchild holding stdout open never blocks the wait. The
files are anonymous (``O_TMPFILE``): no folder to make and remove per step, and nothing left behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import select
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from spell.runtimes.host.sandbox import Sandbox, Spawned, SpawnRequest, Unconfined

__all__ = ["OutputHook", "ProcessLimits", "ProcessResult", "run_process"]

#: Output while the process runs: (stream "stdout" or "stderr", text of complete lines).
OutputHook = Callable[[str, str], None]

_CANCEL_POLL_S = 0.02
_OUTPUT_POLL_S = 0.2
_TAIL_CHUNK = 64 * 1024  # read at most this much of each stream per poll
_ETXTBSY_TRIES = 20


@dataclass(frozen=True)
class ProcessLimits:
    """Kernel limits applied to a step process before it starts (``setrlimit``)."""

    cpu_seconds: int = 300
    address_space_mb: int = 4096
    open_files: int = 1024
    processes: int = 256
    max_output_bytes: int = 4 * 1024 * 1024

    def rlimits(self) -> tuple[tuple[int, int], ...]:
        """``(resource, value)`` pairs, each capped at this process's hard limit, which a child
        inherits and cannot raise."""
        limits = (
            (resource.RLIMIT_CPU, self.cpu_seconds),
            (resource.RLIMIT_AS, self.address_space_mb * 1024 * 1024),
            (resource.RLIMIT_NOFILE, self.open_files),
            (resource.RLIMIT_NPROC, self.processes),
        )
        capped = []
        for kind, value in limits:
            _, hard = resource.getrlimit(kind)
            capped.append((kind, value if hard == resource.RLIM_INFINITY else min(value, hard)))
        return tuple(capped)


@dataclass(frozen=True)
class ProcessResult:
    """How a process ended and what it used."""

    exit_code: int | None
    stdout: bytes
    stderr: bytes
    timed_out: bool
    canceled: bool
    wall_ms: float
    cpu_ms: float
    peak_rss_bytes: int
    start_error: str | None = None
    stdout_truncated: bool = False

    @property
    def ok(self) -> bool:
        """True when the process ran and exited 0 within its time."""
        return self.exit_code == 0 and not self.timed_out and not self.canceled


def run_process(
    argv: list[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    stdin_path: Path,
    timeout_s: float,
    limits: ProcessLimits,
    cancel: threading.Event | None = None,
    on_output: OutputHook | None = None,
    sandbox: Sandbox | None = None,
    root: Path | None = None,
    scratch: Path | None = None,
) -> ProcessResult:
    """Run ``argv`` (no shell) to its end, the deadline, or ``cancel``; the group is killed after.

    ``sandbox`` (default: unconfined) starts the process and may see only ``root`` (default ``cwd``)
    of the host's files. ``on_output`` gets the output as it is written, in complete lines, a few
    times a second; the result still holds the whole (capped) output. The output files are made in
    ``scratch`` (default: the temporary folder), without a name.
    """
    with tempfile.TemporaryFile(dir=scratch) as out, tempfile.TemporaryFile(dir=scratch) as err:
        return _run(
            argv,
            cwd=cwd,
            env=env,
            stdin_path=stdin_path,
            out=out,
            err=err,
            timeout_s=timeout_s,
            limits=limits,
            cancel=cancel,
            on_output=on_output,
            sandbox=sandbox or Unconfined(),
            root=root or cwd,
        )


def _run(
    argv: list[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    stdin_path: Path,
    out: IO[bytes],
    err: IO[bytes],
    timeout_s: float,
    limits: ProcessLimits,
    cancel: threading.Event | None,
    on_output: OutputHook | None,
    sandbox: Sandbox,
    root: Path,
) -> ProcessResult:
    started = time.perf_counter()
    try:
        spawned = _spawn(
            argv,
            sandbox=sandbox,
            root=root,
            cwd=cwd,
            env=env,
            stdin_path=stdin_path,
            out=out,
            err=err,
            limits=limits,
        )
    except OSError as exc:
        return ProcessResult(None, b"", b"", False, False, _ms(started), 0.0, 0, start_error=str(exc))
    proc = spawned.proc
    with contextlib.ExitStack() as owned:
        # A sandbox started ahead of its step brought the files it writes to; they are read here.
        if spawned.stdout is not None:
            out = owned.enter_context(spawned.stdout)
        if spawned.stderr is not None:
            err = owned.enter_context(spawned.stderr)
        tails = [_Tail(out, "stdout", on_output), _Tail(err, "stderr", on_output)] if on_output else []
        try:
            status, usage, timed_out, canceled = _wait(proc, started + timeout_s, cancel, tails)
        finally:
            _kill_group(proc.pid)
            spawned.end()
        for tail in tails:
            tail.poll(final=True)
        proc.returncode = os.waitstatus_to_exitcode(status)
        stdout, truncated = _read_capped(out, limits.max_output_bytes)
        stderr, _ = _read_capped(err, limits.max_output_bytes)
    return ProcessResult(
        exit_code=proc.returncode,
        stdout=stdout,
        stderr=stderr,
        timed_out=timed_out,
        canceled=canceled,
        wall_ms=_ms(started),
        cpu_ms=(usage.ru_utime + usage.ru_stime) * 1000.0,
        peak_rss_bytes=usage.ru_maxrss * 1024,  # Linux reports kilobytes
        stdout_truncated=truncated,
    )


def _spawn(
    argv: list[str],
    *,
    sandbox: Sandbox,
    root: Path,
    cwd: Path,
    env: Mapping[str, str],
    stdin_path: Path,
    out: IO[bytes],
    err: IO[bytes],
    limits: ProcessLimits,
) -> Spawned:
    # A step file just copied by one thread can still be open for writing in a child that another
    # thread forked but has not exec'd yet; exec then fails with ETXTBSY for a moment. Try again.
    for attempt in range(_ETXTBSY_TRIES):
        try:
            with stdin_path.open("rb") as stdin:
                request = SpawnRequest(
                    argv=argv,
                    root=root,
                    cwd=cwd,
                    env=env,
                    stdin=stdin,
                    stdout=out,
                    stderr=err,
                    rlimits=limits.rlimits(),
                    stdin_path=stdin_path,
                )
                return sandbox.spawn(request)
        except OSError as exc:
            if exc.errno != errno.ETXTBSY or attempt == _ETXTBSY_TRIES - 1:
                raise
            time.sleep(0.002 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def _wait(
    proc: subprocess.Popen[bytes], deadline: float, cancel: threading.Event | None, tails: list[_Tail]
) -> tuple[int, resource.struct_rusage, bool, bool]:
    """Wait for the child's exit on a pidfd while watching the deadline and ``cancel`` and passing new
    output on; then reap it with its resource usage."""
    pidfd = os.pidfd_open(proc.pid)  # still our unreaped child: the pid cannot have been reused
    timed_out = canceled = False
    try:
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                timed_out = True
                break
            if cancel is not None and cancel.is_set():
                canceled = True
                break
            if tails:
                remaining = min(remaining, _OUTPUT_POLL_S)
            if cancel is not None:
                remaining = min(remaining, _CANCEL_POLL_S)
            exited, _, _ = select.select([pidfd], [], [], remaining)
            for tail in tails:
                tail.poll()
            if exited:
                break
    finally:
        os.close(pidfd)
    if timed_out or canceled:
        _kill_group(proc.pid)
    _, status, usage = os.wait4(proc.pid, 0)
    return status, usage, timed_out, canceled


class _Tail:
    """Passes on what was appended to a process's output file since the last poll, in whole lines."""

    def __init__(self, file: IO[bytes], stream: str, hook: OutputHook) -> None:
        self.file, self.stream, self.hook = file, stream, hook
        self.offset = 0
        self.partial = b""

    def poll(self, *, final: bool = False) -> None:
        """Pass on new complete lines; with ``final`` also a last line without its newline."""
        try:
            # pread: the file's own offset is shared with the process that writes it
            data = os.pread(self.file.fileno(), _TAIL_CHUNK, self.offset)
        except (OSError, ValueError):  # closed
            return
        self.offset += len(data)
        data = self.partial + data
        cut = len(data) if final or len(data) >= _TAIL_CHUNK else data.rfind(b"\n") + 1
        self.partial = data[cut:]
        if cut:
            self.hook(self.stream, data[:cut].decode("utf-8", errors="replace"))


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is already empty
        os.killpg(pgid, signal.SIGKILL)


def _read_capped(file: IO[bytes], limit: int) -> tuple[bytes, bool]:
    data = os.pread(file.fileno(), limit + 1, 0)
    return data[:limit], len(data) > limit


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 3)
