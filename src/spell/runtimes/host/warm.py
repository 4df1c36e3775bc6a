"""Bubblewrap sandboxes started ahead of their step, so that making the namespaces is off a cast's path.

Starting bubblewrap (user, mount, PID, network, IPC, UTS and cgroup namespaces, the mounts) takes
5 to 10 ms, most of a one-step host cast. ``WarmBwrapSandbox`` keeps a few sandboxes started ahead of
time, each exactly as ``BwrapSandbox`` starts one (the same options, the same user, no capabilities)
around its own new, empty workspace folder, with ``sh`` as PID 2 of the namespace waiting on a pipe.

A cast takes one with ``lease``: the folder becomes the cast's workspace. Its first shell step is
handed to the waiting ``sh`` as a small script (``handoff_script``): change to the step's folder, take
the input file as stdin, and exec ``prlimit`` with the step's limits, then ``env -i`` with the step's
whole environment, then the step. So the step's code starts with the cast's limits and nothing of
the waiting shell's environment, as a cold start gives it. A sandbox is used for that one step
only: it ends with the step (the same ``Spawned.end``), and later steps of the cast start cold in
the same folder. It is never handed to another cast or step.

The sandboxes are started by one long-lived thread: bubblewrap's ``--die-with-parent`` ties each to
the thread that started it, so a waiting sandbox dies with the server whatever happens. ``close``
ends the waiting ones and removes their folders.
"""

from __future__ import annotations

import contextlib
import os
import select
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from spell.runtimes.host.sandbox import (
    _PRLIMIT_OPTIONS,
    _PROBE_S,
    SPAWN_LOCK,
    BwrapSandbox,
    Spawned,
    SpawnRequest,
    _init_pidfd,
    _program,
)

__all__ = ["WarmBwrapSandbox", "handoff_script"]

_RETRY_S = 1.0  # after a sandbox failed to start, before the next try (a broken setup must not spin)
_WAITER = "/bin/sh"
_READY_ASK = b"echo >&0\n"
_READY_ANSWER = b"\n"


@dataclass
class _Warm:
    """A started sandbox around ``root`` whose ``sh`` waits for its script on ``control`` (a socket)."""

    spawned: Spawned
    root: Path
    control: int
    stdout: IO[bytes]
    stderr: IO[bytes]

    def discard(self) -> None:
        """End the sandbox and close what it holds (the folder is its owner's to remove)."""
        proc = self.spawned.proc
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        try:
            self.spawned.end()
            proc.wait()
        finally:
            with contextlib.suppress(OSError):
                os.close(self.control)
            self.stdout.close()
            self.stderr.close()


@dataclass
class WarmBwrapSandbox:
    """``bwrap`` with up to ``size`` sandboxes started ahead, each for one step of one cast.

    ``base`` is where workspace folders are made (None: the temporary folder); ``lease`` serves only
    callers that make theirs there too.
    """

    inner: BwrapSandbox
    size: int = 1
    base: Path | None = None
    started: int = field(default=0, init=False)  # sandboxes started ahead so far
    handed: int = field(default=0, init=False)  # steps started in one of them
    failed: int = field(default=0, init=False)  # starts that did not give a waiting sandbox
    _ready: list[_Warm] = field(default_factory=list, init=False, repr=False)
    _leased: dict[Path, _Warm] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Condition = field(default_factory=threading.Condition, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _closed: bool = field(default=False, init=False, repr=False)
    _pid: int = field(default_factory=os.getpid, init=False, repr=False)

    @property
    def name(self) -> str:
        """The same setting's value as the sandbox it starts ahead."""
        return self.inner.name

    def check(self) -> None:
        """Raise ``SandboxUnavailable`` unless bubblewrap starts here. (Sandboxes are started ahead
        from the first ``lease`` on: a process that builds the runtime but casts nothing keeps none.)"""
        self.inner.check()

    def prepare(self, root: Path) -> None:
        """Give the workspace to the step's user (as ``BwrapSandbox`` does)."""
        self.inner.prepare(root)

    @property
    def waiting(self) -> int:
        """How many sandboxes wait for a cast now."""
        with self._lock:
            return len(self._ready)

    def start(self) -> None:
        """Start filling the pool now rather than at the first ``lease``."""
        self._start()

    def lease(self, base: Path | None) -> Path | None:
        """A new, empty workspace folder in ``base`` with a sandbox waiting around it, or None (none
        ready, or another base): the caller then makes its own. ``release`` it when the cast ends."""
        if self.size <= 0 or base != self.base or os.getpid() != self._pid:
            return None  # (a forked copy of this object: its sandboxes are another process's children)
        self._start()
        with self._lock:
            if not self._ready:
                return None
            warm = self._ready.pop(0)
            self._leased[warm.root] = warm
        return warm.root

    def release(self, root: Path) -> None:
        """The cast in ``root`` ended: end its waiting sandbox if no step took it."""
        with self._lock:
            warm = self._leased.pop(root, None)
            self._lock.notify_all()
        if warm is not None:
            warm.discard()

    def spawn(self, request: SpawnRequest) -> Spawned:
        """Hand the step to the sandbox waiting around ``request.root`` if there is one, else start
        one (later steps of a cast, a sandbox that died while it waited)."""
        with self._lock:
            warm = self._leased.pop(request.root, None)
            if warm is not None:
                self._lock.notify_all()
        if warm is not None:
            script = handoff_script(request)
            if script is not None and self._hand(warm, script):
                with self._lock:
                    self.handed += 1
                # The step writes to the files the sandbox was started with; the request's stay empty.
                return Spawned(
                    warm.spawned.proc, warm.spawned.init_pidfd, stdout=warm.stdout, stderr=warm.stderr
                )
            warm.discard()
        return self.inner.spawn(request)

    def close(self) -> None:
        """Stop starting sandboxes; end the waiting ones and those leased but not taken."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
            thread, self._thread = self._thread, None
            leased, self._leased = list(self._leased.values()), {}
        if thread is not None:
            thread.join()
        for warm in leased:
            warm.discard()

    # the filling thread ---------------------------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._closed or self.size <= 0:
                return
            self._thread = threading.Thread(target=self._fill, name="spell-warm-sandboxes", daemon=True)
            self._thread.start()

    def _fill(self) -> None:
        try:
            while True:
                with self._lock:
                    # A leased sandbox counts until its step took it: the next start then does not
                    # hold up the cast's copy (``SPAWN_LOCK``), and there are never more than ``size``.
                    while not self._closed and len(self._ready) + len(self._leased) >= self.size:
                        self._lock.wait()
                    if self._closed:
                        return
                warm = self._start_one()
                with self._lock:
                    if warm is not None:
                        self._ready.append(warm)
                        self.started += 1
                        continue
                    self.failed += 1
                    self._lock.wait(_RETRY_S)
        finally:
            with self._lock:
                ready, self._ready = self._ready, []
            for warm in ready:
                warm.discard()
                shutil.rmtree(warm.root, ignore_errors=True)

    def _start_one(self) -> _Warm | None:
        """Start one sandbox around a new folder; None (nothing left behind) when it did not start."""
        root = Path(tempfile.mkdtemp(prefix="spell-cast-", dir=self.base))
        try:
            os.chmod(root, 0o700)
            self.inner.prepare(root)
            warm = self._launch(root)
        except Exception:  # a failed start must not end the thread: the next try may work
            warm = None
        if warm is None:
            shutil.rmtree(root, ignore_errors=True)
        return warm

    def _launch(self, root: Path) -> _Warm | None:
        # The waiting sh reads its commands from one end of a socket pair (its stdin): a first
        # command it answers on that socket says the sandbox is whole (bubblewrap reports the
        # namespaces before it makes the mounts, which can still fail); the step's script comes next.
        control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        info_read, info_write = os.pipe()
        # The step's output files, made now: the step is started with them. They outlive this call.
        out = tempfile.TemporaryFile(dir=self.base)  # noqa: SIM115
        err = tempfile.TemporaryFile(dir=self.base)  # noqa: SIM115
        try:
            bwrap = self.inner._argv([_WAITER], root=root, cwd=root, info_fd=info_write)
            with SPAWN_LOCK:
                proc = subprocess.Popen(
                    self.inner._launcher(()) + bwrap,
                    cwd=root,
                    env={},
                    stdin=theirs.fileno(),
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                    close_fds=True,
                    pass_fds=(info_write,),
                )
        except BaseException:
            control.close()
            os.close(info_read)
            out.close()
            err.close()
            raise
        finally:
            theirs.close()
            os.close(info_write)
        spawned = Spawned(proc, None)
        warm = _Warm(spawned, root, control.detach(), out, err)
        with os.fdopen(info_read, "rb") as info:
            reported, _, _ = select.select([info], [], [], _PROBE_S)
            report = info.read() if reported else b""
        spawned.init_pidfd = _init_pidfd(report, parent=proc.pid) if report else None
        if spawned.init_pidfd is None or not _answers(warm.control):
            warm.discard()  # bubblewrap failed or hung before the sandbox was whole
            return None
        return warm

    @staticmethod
    def _hand(warm: _Warm, script: bytes) -> bool:
        """Write the step's script to the waiting ``sh``; False if the sandbox is gone."""
        if warm.spawned.proc.poll() is not None:
            return False
        try:
            view = memoryview(script)
            while view:
                view = view[os.write(warm.control, view) :]
        except OSError:  # EPIPE: the waiting shell died
            return False
        finally:
            os.close(warm.control)
            warm.control = -1
        return True


def _answers(control: int) -> bool:
    """True once the waiting sh ran a first command: the sandbox is whole and waits for its step."""
    try:
        os.write(control, _READY_ASK)
        answered, _, _ = select.select([control], [], [], _PROBE_S)
        return bool(answered) and os.read(control, 1) == _READY_ANSWER
    except OSError:
        return False


def handoff_script(request: SpawnRequest) -> bytes | None:
    """What the waiting ``sh`` runs for ``request``: one compound command, so nothing of it runs
    unless all of it arrived. None when the request cannot be put that way (a step path ``env``
    would take for a variable, an input outside the workspace): the step then starts cold."""
    if request.stdin_path is None or not request.stdin_path.is_relative_to(request.root):
        return None
    if not request.argv or "=" in request.argv[0]:
        return None
    launch: list[str] = []
    if request.rlimits:
        launch.append(_program("prlimit"))
        launch += [f"{_PRLIMIT_OPTIONS[kind]}={value}:{value}" for kind, value in request.rlimits]
        launch.append("--")
    launch += [_program("env"), "-i", "--", *_assignments(request.env), *request.argv]
    words = " ".join(shlex.quote(word) for word in launch)
    text = (
        "{\n"
        f"cd -- {shlex.quote(str(request.cwd))} || exit 126\n"
        f"exec {words} <{shlex.quote(str(request.stdin_path))}\n"
        "}\n"
    )
    return text.encode("utf-8", errors="surrogateescape")


def _assignments(env: Mapping[str, str]) -> list[str]:
    return [f"{name}={value}" for name, value in env.items()]
