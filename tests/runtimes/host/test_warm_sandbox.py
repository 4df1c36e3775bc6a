"""Bubblewrap sandboxes started ahead of their step, run for real: one step each, the step's own limits,
user and environment, and nothing left behind (``spell.runtimes.host.warm``)."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from spell.bundle.loaders import load_manifest
from spell.config.server import ServerSettings
from spell.platform.server import host_runtime
from spell.runtimes.base import CastRequest, CastResult, Outcome
from spell.runtimes.host import EngineSettings, HostRuntime, ProcessLimits
from spell.runtimes.host.sandbox import SPAWN_LOCK, BwrapSandbox, SpawnRequest
from spell.runtimes.host.warm import WarmBwrapSandbox, _Warm, handoff_script
from spell.runtimes.host.workspace import workspace
from tests.runtimes.host.bundles import make_bundle

ONE = [{"uses": "shell", "name": "main", "run": "steps/main.sh"}]
TWO = [
    {"uses": "shell", "name": "first", "run": "steps/ns.sh"},
    {"uses": "shell", "name": "second", "run": "steps/ns.sh"},
]
NS = "#!/bin/sh\nreadlink /proc/self/ns/pid\n"


def _until(done: Callable[[], bool], what: str) -> None:
    """Wait for ``done`` (a liveness bound for a loaded machine, not a timing check)."""
    end = time.monotonic() + 30
    while not done():
        if time.monotonic() > end:
            raise AssertionError(f"still not {what}")
        time.sleep(0.01)


@pytest.fixture
def base() -> Iterator[Path]:
    """Where workspaces are made: a folder the step's user may pass through (as /tmp), which
    pytest's own temporary folders are not."""
    made = Path(tempfile.mkdtemp(prefix="spell-warm-test-"))
    made.chmod(0o755)
    yield made
    shutil.rmtree(made)


@pytest.fixture
def pool(base: Path) -> Iterator[WarmBwrapSandbox]:
    warm = WarmBwrapSandbox(BwrapSandbox(), size=1, base=base)
    warm.check()
    warm.start()
    yield warm
    warm.close()


def _cast(
    tmp_path: Path,
    sandbox: WarmBwrapSandbox,
    files: dict[str, str],
    *,
    steps: list[dict[str, str]] | None = None,
    settings: EngineSettings | None = None,
    cancel: threading.Event | None = None,
    log: Callable[[str, str, str], None] | None = None,
) -> CastResult:
    bundle = tmp_path / "bundle"
    if not bundle.exists():
        make_bundle(bundle, steps or ONE, files)
    request = CastRequest(
        bundle_dir=bundle, manifest=load_manifest(bundle), input={"n": 1}, env={}, cancel=cancel, log=log
    )
    return HostRuntime(settings, sandbox=sandbox, temp_base=sandbox.base).run(request)


def _ready(pool: WarmBwrapSandbox) -> _Warm:
    _until(lambda: pool.waiting == pool.size, "started ahead")
    return pool._ready[0]


def _alive(pid: int) -> bool:
    """Running (a zombie has ended: the host's init reaps those bubblewrap left)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in {"Z", "X"}


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _init_pid(warm: _Warm) -> int:
    fd = warm.spawned.init_pidfd
    assert fd is not None
    return int(Path(f"/proc/self/fdinfo/{fd}").read_text().split("Pid:")[1].split()[0])


def test_every_step_gets_a_sandbox_of_its_own_that_no_later_step_or_cast_reuses(
    tmp_path: Path, pool: WarmBwrapSandbox
) -> None:
    seen = []
    for _ in range(3):
        _ready(pool)
        result = _cast(
            tmp_path, pool, {"steps/main.sh": '#!/bin/sh\nreadlink /proc/self/ns/pid; cat "$INPUT_JSON"\n'}
        )
        assert result.outcome is Outcome.SUCCEEDED, result.message
        namespace, given = result.stdout.split("\n", 1)
        assert given.strip() == '{"n": 1}'
        seen.append(namespace)

    assert pool.handed == 3
    assert len(set(seen)) == 3  # a new PID namespace per cast


def test_the_second_step_of_a_cast_starts_in_a_new_sandbox_in_the_same_workspace(
    tmp_path: Path, pool: WarmBwrapSandbox
) -> None:
    _ready(pool)
    result = _cast(tmp_path, pool, {"steps/ns.sh": NS}, steps=TWO)

    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert pool.handed == 1
    assert result.output["step.first.stdout"] != result.output["step.second.stdout"]


@pytest.mark.skipif(os.geteuid() != 0, reason="only a server running as root switches to another user")
def test_a_step_handed_to_a_waiting_sandbox_has_the_casts_limits_user_and_environment_only(
    tmp_path: Path, pool: WarmBwrapSandbox
) -> None:
    marker = f"{os.getpid()}.{threading.get_ident() % 10**6}"
    script = f"""#!/bin/sh
grep -E '^(CapEff|CapPrm|CapBnd):' /proc/self/status | cut -f2
ulimit -t; ulimit -v; ulimit -n; ulimit -Hn
env | cut -d= -f1 | sort | tr '\\n' ' '; echo
echo started
exec sleep {marker}
"""
    limits = ProcessLimits(cpu_seconds=7, address_space_mb=512, open_files=64, processes=300)
    cancel = threading.Event()
    said: list[str] = []
    outside: list[dict[str, str]] = []

    def on_log(_step: str, _stream: str, text: str) -> None:
        said.append(text)
        if "started" in text:
            for pid in _sleeping(marker):
                lines = Path(f"/proc/{pid}/status").read_text().splitlines()
                outside.append(dict(line.split(":", 1) for line in lines if ":" in line))
            cancel.set()

    _ready(pool)
    result = _cast(
        tmp_path,
        pool,
        {"steps/main.sh": script},
        settings=EngineSettings(limits=limits),
        cancel=cancel,
        log=on_log,
    )

    assert result.outcome is Outcome.CANCELED
    assert pool.handed == 1
    assert len(outside) == 1
    assert outside[0]["Uid"].split() == ["65534"] * 4
    assert outside[0]["Gid"].split() == ["65534"] * 4
    assert outside[0]["Groups"].split() == []
    assert outside[0]["CapEff"].strip() == "0000000000000000"
    assert outside[0]["NoNewPrivs"].strip() in {"0", "1"}
    lines = "".join(said).split("\n")
    assert lines[:3] == ["0000000000000000"] * 3
    assert lines[3:7] == ["7", str(512 * 1024), "64", "64"]
    # What the step was given and what its own shell adds (PWD): nothing of the waiting shell's.
    assert lines[7].split() == sorted(["HOME", "INPUT_JSON", "LANG", "LC_ALL", "PATH", "PWD", "TMPDIR"])
    assert lines[8] == "started"
    assert not _sleeping(marker)


def _sleeping(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_a_waiting_sandbox_that_was_killed_is_not_used_and_the_step_starts_cold(
    tmp_path: Path, pool: WarmBwrapSandbox
) -> None:
    warm = _ready(pool)
    os.killpg(warm.spawned.proc.pid, signal.SIGKILL)
    _until(lambda: warm.spawned.proc.poll() is not None, "ended")

    result = _cast(tmp_path, pool, {"steps/main.sh": "#!/bin/sh\necho ran\n"})

    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert result.stdout.strip() == "ran"
    assert pool.handed == 0


def test_a_waiting_sandbox_that_is_stuck_is_ended_at_the_steps_deadline(
    tmp_path: Path, pool: WarmBwrapSandbox
) -> None:
    warm = _ready(pool)
    init = _init_pid(warm)
    (waiter,) = _children_of(init)
    os.kill(waiter, signal.SIGSTOP)
    settings = EngineSettings(step_timeout_ms=500)

    result = _cast(tmp_path, pool, {"steps/main.sh": "#!/bin/sh\necho ran\n"}, settings=settings)

    assert result.outcome is Outcome.TIMEOUT
    assert "ran" not in result.stdout
    assert pool.handed == 1
    assert not any(_alive(pid) for pid in (warm.spawned.proc.pid, init, waiter))


def test_a_script_cut_short_runs_nothing(tmp_path: Path, pool: WarmBwrapSandbox) -> None:
    _ready(pool)
    root = pool.lease(pool.base)
    assert root is not None
    warm = pool._leased[root]
    made = root / "made"
    (root / "input.json").write_text("{}")
    request = SpawnRequest(
        argv=["/usr/bin/touch", str(made)],
        root=root,
        cwd=root,
        env={},
        stdin=open(os.devnull, "rb"),  # noqa: SIM115
        stdout=warm.stdout,
        stderr=warm.stderr,
        rlimits=(),
        stdin_path=root / "input.json",
    )
    script = handoff_script(request)
    request.stdin.close()
    assert script is not None
    os.write(warm.control, script[: len(script) - 3])  # the server died while handing the step over
    os.close(warm.control)
    warm.control = -1

    assert warm.spawned.proc.wait(timeout=30) != 0
    assert not made.exists()
    pool.release(root)


def test_a_lease_no_step_took_is_ended_with_its_cast(tmp_path: Path, pool: WarmBwrapSandbox) -> None:
    _ready(pool)
    root = pool.lease(pool.base)
    assert root is not None
    warm = pool._leased[root]

    pool.release(root)

    assert warm.spawned.proc.returncode is not None  # ended and reaped
    assert root not in pool._leased


def test_a_bundle_the_workspace_refuses_ends_its_leased_sandbox(
    tmp_path: Path, pool: WarmBwrapSandbox
) -> None:
    warm = _ready(pool)
    bundle = make_bundle(tmp_path / "bundle", ONE, {"steps/main.sh": "#!/bin/sh\necho ran\n"})
    (bundle / "link").symlink_to("/etc/passwd")

    result = _cast(tmp_path, pool, {})

    assert result.outcome is Outcome.FAILED
    assert warm.spawned.proc.returncode is not None
    assert not pool._leased
    assert not warm.root.exists()


def test_closing_ends_every_waiting_and_leased_sandbox_and_removes_the_waiting_ones_folders(
    base: Path,
) -> None:
    tmp_path = base
    pool = WarmBwrapSandbox(BwrapSandbox(), size=2, base=tmp_path)
    pool.start()
    _until(lambda: pool.waiting == 2, "started ahead")
    leased_root = pool.lease(tmp_path)
    assert leased_root is not None
    assert pool.waiting == 1  # a leased one counts until its step takes it: never more than the size
    sandboxes = [*pool._ready, *pool._leased.values()]
    pids = [pid for warm in sandboxes for pid in (warm.spawned.proc.pid, _init_pid(warm))]

    pool.close()

    assert not any(_alive(pid) for pid in pids)
    assert [p.name for p in tmp_path.iterdir()] == [leased_root.name]  # the cast removes its own
    assert pool.lease(tmp_path) is None  # a closed pool hands out nothing: steps start cold


def test_a_bubblewrap_that_does_not_start_leaves_nothing_and_the_step_fails_as_before(
    tmp_path: Path, base: Path
) -> None:
    pool = WarmBwrapSandbox(BwrapSandbox(binary=str(tmp_path / "no-bwrap")), size=1, base=base)
    pool.start()
    try:
        _until(lambda: pool.failed >= 1, "tried")
        assert list(base.iterdir()) == []
        result = _cast(tmp_path, pool, {"steps/main.sh": "#!/bin/sh\necho ran\n"})
    finally:
        pool.close()

    assert result.outcome is Outcome.FAILED
    assert "no-bwrap" in result.message
    assert pool.started == 0


def test_only_the_process_that_made_the_pool_leases_from_it(tmp_path: Path, pool: WarmBwrapSandbox) -> None:
    _ready(pool)
    pool._pid = -1  # as seen from a forked child

    assert pool.lease(pool.base) is None
    assert pool.lease(Path("/elsewhere")) is None


def test_a_request_env_cannot_be_given_that_way_is_not_handed_over(tmp_path: Path) -> None:
    with open(os.devnull, "rb") as null:
        base = SpawnRequest(
            argv=[str(tmp_path / "a=b.sh")],
            root=tmp_path,
            cwd=tmp_path,
            env={"A": "1"},
            stdin=null,
            stdout=null,
            stderr=null,
            rlimits=(),
            stdin_path=tmp_path / "input.json",
        )
        outside = SpawnRequest(**{**base.__dict__, "argv": ["/bin/true"], "stdin_path": Path("/etc/passwd")})
        fine = SpawnRequest(**{**base.__dict__, "argv": ["/bin/true"]})

        assert handoff_script(base) is None  # env would read the step's path as a variable
        assert handoff_script(outside) is None  # the input must be inside the workspace
        assert handoff_script(fine) is not None


def test_the_server_starts_sandboxes_ahead_unless_the_setting_is_zero(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SPELL_SERVER_HOST_SANDBOX_WARM", "0")
    cold = host_runtime(ServerSettings.from_env())
    monkeypatch.setenv("SPELL_SERVER_HOST_SANDBOX_WARM", "3")
    warm = host_runtime(ServerSettings.from_env())
    try:
        assert isinstance(cold.sandbox, BwrapSandbox)
        assert isinstance(warm.sandbox, WarmBwrapSandbox)
        assert warm.sandbox.size == 3
        assert warm.sandbox.waiting == 0  # none until the first cast
    finally:
        warm.close()


def test_a_bundle_is_not_copied_while_a_process_is_being_started(tmp_path: Path) -> None:
    # A child between fork and exec holds every descriptor of the server, a step file being written
    # among them; a step started right after the copy (in a sandbox started ahead) would then fail
    # with ETXTBSY. So the copy waits for the start to finish.
    bundle = make_bundle(tmp_path / "bundle", ONE, {"steps/main.sh": "#!/bin/sh\n"})
    copied = threading.Event()
    seen: list[bool] = []

    def copy() -> None:
        with workspace(bundle, {}, base=tmp_path) as space:
            seen.append((space.bundle / "steps" / "main.sh").exists())
            copied.set()

    with SPAWN_LOCK:
        thread = threading.Thread(target=copy)
        thread.start()
        copied.wait(0.3)
        assert not copied.is_set()
    thread.join()

    assert seen == [True]


def test_a_handed_step_holds_no_descriptor_a_step_started_cold_does_not(
    tmp_path: Path, pool: WarmBwrapSandbox
) -> None:
    script = '#!/bin/sh\nfor f in /proc/$$/fd/*; do echo "${f##*/} $(readlink "$f" | cut -d: -f1)"; done\n'
    _ready(pool)
    warm = _cast(tmp_path, pool, {"steps/main.sh": script})
    assert pool.handed == 1
    request = CastRequest(
        bundle_dir=tmp_path / "bundle", manifest=load_manifest(tmp_path / "bundle"), input={"n": 1}, env={}
    )
    cold = HostRuntime(sandbox=BwrapSandbox()).run(request)

    assert warm.outcome is cold.outcome is Outcome.SUCCEEDED
    assert [line.split()[0] for line in warm.stdout.splitlines()] == [
        line.split()[0] for line in cold.stdout.splitlines()
    ]
    assert "socket" not in warm.stdout  # the waiting shell's end of its socket pair is gone
