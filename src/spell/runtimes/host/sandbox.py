"""Where a shell step's process runs: inside bubblewrap (the server), or unconfined (local casts).

``bwrap`` gives every step process fresh user, mount, PID, network, IPC, UTS and cgroup namespaces,
an unprivileged uid/gid (the process is started as that user when the server runs as root, so it
is unprivileged outside the namespace too), no capabilities, no nested user namespaces, and a root
file system that holds only read-only ``/usr`` (with the ``/bin``, ``/lib*`` links), a few files of
``/etc``, private ``/proc``, ``/dev`` and ``/tmp``, and the cast's own workspace. The server's data
dir, database and secret key are not mounted at all. There is no network: ``http`` steps are sent
by the engine itself, outside the sandbox.

Ending a step ends everything it started: bubblewrap's init is PID 1 of the step's PID namespace,
and when PID 1 dies the kernel kills every process in the namespace, including those that called
``setsid()`` to leave the process group. After a step ends (exit, timeout or cancel) the init is
killed through a pidfd and waited for, so nothing of the step is alive when ``run_process`` returns.

Starting a step must not fork the server: copying the page tables of a process of a few hundred MB
took most of a host cast's time. So bubblewrap is started with ``vfork`` semantics (no Python code
between fork and exec) through two small util-linux programs that do what that code did:
``setpriv`` switches to the step's user (when the server runs as root) and ``prlimit`` sets the
step's rlimits, then each execs the next.

``unsafe-none`` is for trusted code only: the process runs as the caller's user in its
own process group only. It is named unsafe on purpose; the server uses it only when the operator
chooses it.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

from spell.errors import InvalidInput, SandboxUnavailable

__all__ = [
    "BWRAP",
    "SANDBOX_NAMES",
    "SPAWN_LOCK",
    "UNSAFE_NONE",
    "BwrapSandbox",
    "Sandbox",
    "SpawnRequest",
    "Spawned",
    "StartsAhead",
    "Unconfined",
    "sandbox_named",
]

BWRAP = "bwrap"
UNSAFE_NONE = "unsafe-none"
SANDBOX_NAMES = (BWRAP, UNSAFE_NONE)

NOBODY = 65534
_SETTLE_S = 5.0  # PID 1 of a namespace exits once the kernel has reaped every process in it
_PROBE_S = 10.0
# The parts of /etc a program needs to start and to name users; nothing that configures the host.
_ETC = (
    "alternatives",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "passwd",
    "group",
    "nsswitch.conf",
)
_TOP_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
# prlimit(1)'s option for each limit a step gets.
_PRLIMIT_OPTIONS = {
    resource.RLIMIT_CPU: "--cpu",
    resource.RLIMIT_AS: "--as",
    resource.RLIMIT_NOFILE: "--nofile",
    resource.RLIMIT_NPROC: "--nproc",
}


#: Held while a step's files are copied and while a process is started from this package: a child
#: between its fork and its exec holds a copy of every descriptor open in the server, and a step file
#: open for writing there cannot be executed (ETXTBSY). A sandbox started ahead execs the step at
#: once after the copy, so without this it would meet another thread's child in that window.
SPAWN_LOCK = threading.Lock()


def set_rlimits(limits: tuple[tuple[int, int], ...]) -> Callable[[], None]:
    """A function that sets each ``(resource, value)`` as soft and hard limit of the calling process."""

    def apply() -> None:
        for kind, value in limits:
            resource.setrlimit(kind, (value, value))

    return apply


@dataclass(frozen=True, kw_only=True)
class SpawnRequest:
    """A step process to start: ``argv`` (no shell) in ``cwd``, inside the cast's workspace ``root``."""

    argv: list[str]
    root: Path
    cwd: Path
    env: Mapping[str, str]
    stdin: IO[bytes]
    stdout: IO[bytes]
    stderr: IO[bytes]
    rlimits: tuple[tuple[int, int], ...]  # (resource.RLIMIT_*, soft and hard value)
    stdin_path: Path | None = None  # the file ``stdin`` was opened from


def _popen(
    argv: list[str],
    request: SpawnRequest,
    *,
    cwd: Path,
    pass_fds: tuple[int, ...] = (),
    preexec: Callable[[], None] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` with the request's streams and environment in a new session (without
    ``preexec``, Python starts it with vfork: the server's memory is not copied)."""
    with SPAWN_LOCK:
        return _popen_now(argv, request, cwd=cwd, pass_fds=pass_fds, preexec=preexec)


def _popen_now(
    argv: list[str],
    request: SpawnRequest,
    *,
    cwd: Path,
    pass_fds: tuple[int, ...],
    preexec: Callable[[], None] | None,
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        cwd=cwd,
        env=dict(request.env),
        stdin=request.stdin,
        stdout=request.stdout,
        stderr=request.stderr,
        start_new_session=True,
        preexec_fn=preexec,
        close_fds=True,
        pass_fds=pass_fds,
    )


def _program(name: str) -> str:
    """The full path of ``name`` (a name on ``PATH`` or a path); FileNotFoundError naming it if absent."""
    found = _which(name)
    if found is None:
        raise FileNotFoundError(errno.ENOENT, "no such program", name)
    return found


@functools.lru_cache(maxsize=8)
def _which_cached(name: str) -> str | None:
    return shutil.which(name)


def _which(name: str) -> str | None:
    # The helpers (setpriv, prlimit) are looked up once; bubblewrap's setting may name a path that
    # is created or removed later, so a miss is not remembered.
    found = _which_cached(name)
    if found is None:
        _which_cached.cache_clear()
    return found


@dataclass
class Spawned:
    """A started step process and, when sandboxed, a pidfd of the init of its PID namespace.

    ``stdout``/``stderr``: where the process writes when that is not the request's files (a sandbox
    started ahead of its step was given its own); the caller reads and closes them."""

    proc: subprocess.Popen[bytes]
    init_pidfd: int | None = None
    stdout: IO[bytes] | None = None
    stderr: IO[bytes] | None = None

    def end(self) -> None:
        """Kill what is left of the step and wait until none of it runs any more."""
        if self.init_pidfd is None:
            return
        try:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self.init_pidfd, signal.SIGKILL)
            select.select([self.init_pidfd], [], [], _SETTLE_S)
        finally:
            os.close(self.init_pidfd)
            self.init_pidfd = None


class Sandbox(Protocol):
    """How a step process is started; ``check`` raises ``SandboxUnavailable`` when it cannot be."""

    @property
    def name(self) -> str:
        """The setting's value that chooses this sandbox."""

    def check(self) -> None:
        """Raise ``SandboxUnavailable`` unless a step can be started on this machine."""

    def prepare(self, root: Path) -> None:
        """Make the cast's workspace ``root`` usable by the step's user."""

    def spawn(self, request: SpawnRequest) -> Spawned:
        """Start the request's process in a new session; its ``root`` is the only host folder it may see."""


@runtime_checkable
class StartsAhead(Protocol):
    """A sandbox that keeps some started ahead of their step (``warm.py``): the runtime leases the
    workspace folder one waits around, and releases it when the cast ends."""

    def lease(self, base: Path | None) -> Path | None:
        """A new, empty workspace folder in ``base`` with a sandbox waiting around it, or None."""

    def release(self, root: Path) -> None:
        """The cast in ``root`` ended: end its waiting sandbox if no step took it."""

    def close(self) -> None:
        """End every sandbox started ahead (call when no cast runs)."""


@dataclass(frozen=True)
class Unconfined:
    """``unsafe-none``: the step runs as the caller's user, in its own process group only."""

    name: str = UNSAFE_NONE

    def check(self) -> None:
        """Always usable."""

    def prepare(self, root: Path) -> None:
        """Nothing to do: the step runs as the user who made the workspace."""

    def spawn(self, request: SpawnRequest) -> Spawned:
        """Start the request's ``argv`` directly, its rlimits set between fork and exec (a local cast's
        process is small, so the fork is cheap)."""
        return Spawned(_popen(request.argv, request, cwd=request.cwd, preexec=set_rlimits(request.rlimits)))


@dataclass(frozen=True)
class BwrapSandbox:
    """``bwrap``: bubblewrap namespaces, an unprivileged uid/gid, only the workspace of the cast."""

    binary: str = "bwrap"
    uid: int = NOBODY
    gid: int = NOBODY
    name: str = field(default=BWRAP, init=False)

    @property
    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def check(self) -> None:
        """Start ``true`` in the sandbox once; any failure names the binary and bubblewrap's words."""
        hint = (
            "install bubblewrap (apt-get install bubblewrap) and util-linux (setpriv, prlimit), "
            "point SPELL_SERVER_HOST_SANDBOX_BWRAP at bubblewrap, "
            f"or set SPELL_SERVER_HOST_SANDBOX={UNSAFE_NONE} to run host steps unconfined"
        )
        true = shutil.which("true", path="/usr/bin:/bin") or "/usr/bin/true"
        with tempfile.TemporaryDirectory(prefix="spell-probe-") as probe:
            root = Path(probe)
            self.prepare(root)
            try:
                done = subprocess.run(
                    self._launcher(_probe_limits()) + self._argv([true], root=root, cwd=root, info_fd=None),
                    capture_output=True,
                    timeout=_PROBE_S,
                    check=False,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                raise SandboxUnavailable(
                    f"the host step sandbox cannot start {self.binary!r}: {exc}",
                    details={"sandbox": self.name, "binary": self.binary},
                    hint=hint,
                ) from exc
        if done.returncode != 0:
            said = done.stderr.decode("utf-8", errors="replace").strip()[:500]
            raise SandboxUnavailable(
                f"the host step sandbox does not work on this machine: {said or f'exit {done.returncode}'}",
                details={"sandbox": self.name, "binary": self.binary, "exit_code": done.returncode},
                hint=hint,
            )

    def prepare(self, root: Path) -> None:
        """Give the workspace to the step's user (only root can, and only root needs to)."""
        if not self._as_root:
            return
        os.chown(root, self.uid, self.gid)
        for folder, dirs, files in os.walk(root):
            for name in (*dirs, *files):
                os.chown(os.path.join(folder, name), self.uid, self.gid, follow_symlinks=False)

    def spawn(self, request: SpawnRequest) -> Spawned:
        """Start the request's ``argv`` under bubblewrap and keep a pidfd of the namespace's init."""
        launcher = self._launcher(request.rlimits)
        info_read, info_write = os.pipe()
        try:
            proc = _popen(
                launcher + self._argv(request.argv, root=request.root, cwd=request.cwd, info_fd=info_write),
                request,
                cwd=request.root,
                pass_fds=(info_write,),
            )
        except BaseException:
            os.close(info_read)
            raise
        finally:
            os.close(info_write)
        with os.fdopen(info_read, "rb") as info:
            # bubblewrap writes the JSON and closes the descriptor once the namespaces exist, or
            # exits (closing it too) when it cannot make them.
            report = info.read()
        return Spawned(proc, _init_pidfd(report, parent=proc.pid))

    def _launcher(self, rlimits: tuple[tuple[int, int], ...]) -> list[str]:
        """What runs before bubblewrap, each exec'ing the next: ``setpriv`` to the step's user (only
        root can switch, and only root needs to), then ``prlimit`` with the step's limits."""
        launcher = []
        if self._as_root:
            launcher += [
                _program("setpriv"),
                f"--reuid={self.uid}",
                f"--regid={self.gid}",
                "--clear-groups",
                "--",
            ]
        if rlimits:
            launcher.append(_program("prlimit"))
            launcher += [f"{_PRLIMIT_OPTIONS[kind]}={value}:{value}" for kind, value in rlimits]
            launcher.append("--")
        return launcher

    def _argv(self, argv: list[str], *, root: Path, cwd: Path, info_fd: int | None) -> list[str]:
        args = [
            _program(self.binary),
            "--unshare-all",
            "--unshare-user",
            "--disable-userns",
            "--die-with-parent",
            "--new-session",
            "--uid",
            str(self.uid),
            "--gid",
            str(self.gid),
            "--ro-bind",
            "/usr",
            "/usr",
        ]
        for top in _TOP_LINKS:
            path = Path("/") / top
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
        for name in _ETC:
            args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        # A private, empty /tmp: the host's is not a place a step may look (S108 is about using it).
        args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--bind", str(root), str(root)]  # noqa: S108
        args += ["--chdir", str(cwd)]
        if info_fd is not None:
            args += ["--info-fd", str(info_fd)]
        return [*args, "--", *argv]


def _probe_limits() -> tuple[tuple[int, int], ...]:
    """A CPU limit for the probe, so that it starts ``true`` the way every step is started."""
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    seconds = int(_PROBE_S) if hard == resource.RLIM_INFINITY else min(int(_PROBE_S), hard)
    return ((resource.RLIMIT_CPU, seconds),)


def _init_pidfd(report: bytes, *, parent: int) -> int | None:
    """A pidfd of the init bubblewrap reported, if that process is still bubblewrap's child."""
    try:
        child = int(json.loads(report)["child-pid"])
    except (ValueError, KeyError, TypeError):
        return None  # bubblewrap stopped before making the namespaces: nothing runs in them
    try:
        pidfd = os.pidfd_open(child)
    except ProcessLookupError:
        return None
    # The pid is only that init's while bubblewrap (our unreaped child) is still its parent.
    if _parent_of(child) != parent:
        os.close(pidfd)
        return None
    return pidfd


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def sandbox_named(name: str, *, binary: str = "bwrap", uid: int = NOBODY, gid: int = NOBODY) -> Sandbox:
    """The sandbox backend ``name`` (one of ``SANDBOX_NAMES``)."""
    if name == BWRAP:
        return BwrapSandbox(binary=binary, uid=uid, gid=gid)
    if name == UNSAFE_NONE:
        return Unconfined()
    raise InvalidInput(
        f"unknown host step sandbox {name!r}",
        details={"sandbox": name, "choices": list(SANDBOX_NAMES)},
        hint=f"choose one of {', '.join(SANDBOX_NAMES)}",
    )
