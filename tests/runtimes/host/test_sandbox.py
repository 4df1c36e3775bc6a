"""The bubblewrap sandbox of host steps, run for real: what a step sees, who it is, how it ends."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from spell.bundle.loaders import load_manifest
from spell.config.server import HOST_SANDBOXES
from spell.errors import SandboxUnavailable
from spell.runtimes.base import CastRequest, CastResult, Outcome
from spell.runtimes.host import EngineSettings, HostRuntime, ProcessLimits
from spell.runtimes.host.sandbox import (
    SANDBOX_NAMES,
    BwrapSandbox,
    Spawned,
    Unconfined,
    _init_pidfd,
    sandbox_named,
)
from tests.runtimes.host.bundles import make_bundle

ONE = [{"uses": "shell", "name": "main", "run": "steps/main.sh"}]


def _cast(
    tmp_path: Path,
    script: str,
    sandbox: BwrapSandbox,
    *,
    cancel: threading.Event | None = None,
    settings: EngineSettings | None = None,
) -> CastResult:
    bundle = make_bundle(tmp_path / "bundle", ONE, {"steps/main.sh": script})
    request = CastRequest(
        bundle_dir=bundle, manifest=load_manifest(bundle), input={"name": "x"}, env={}, cancel=cancel
    )
    return HostRuntime(settings, sandbox=sandbox).run(request)


@pytest.fixture
def world_readable() -> Iterator[list[Path]]:
    """Files anyone on the host may read, in /tmp and /var/tmp: only the mounts keep them away."""
    made = []
    for base in ("/tmp", "/var/tmp"):
        folder = Path(tempfile.mkdtemp(dir=base))
        folder.chmod(0o755)
        (folder / "secret.txt").write_text("s3cret")
        (folder / "secret.txt").chmod(0o644)
        made.append(folder / "secret.txt")
    yield made
    for path in made:
        shutil.rmtree(path.parent)


def test_a_sandboxed_step_sees_its_workspace_and_input_but_no_other_host_file(
    tmp_path: Path, world_readable: list[Path]
) -> None:
    script = f"""#!/bin/sh
echo made > "$HOME/out.txt" && echo made > "$TMPDIR/tmp.txt" || exit 3
for secret in {" ".join(str(p) for p in world_readable)}; do cat "$secret" 2>/dev/null && exit 4; done
printf '{{"uid": %s, "gid": %s, "input": %s, "root": "%s"}}' \\
  "$(id -u)" "$(id -g)" "$(cat "$INPUT_JSON")" "$(ls / | tr '\\n' ' ')"
"""
    result = _cast(tmp_path, script, BwrapSandbox())

    assert result.outcome is Outcome.SUCCEEDED, result.message
    seen = json.loads(result.stdout)
    assert (seen["uid"], seen["gid"], seen["input"]) == (65534, 65534, {"name": "x"})
    assert set(seen["root"].split()) <= {
        "bin",
        "dev",
        "etc",
        "lib",
        "lib32",
        "lib64",
        "libx32",
        "proc",
        "sbin",
        "tmp",
        "usr",
    }


@pytest.mark.skipif(os.geteuid() != 0, reason="only a server running as root switches to another user")
def test_a_sandboxed_step_is_unprivileged_outside_its_namespace_and_has_the_casts_limits(
    tmp_path: Path,
) -> None:
    marker = f"{os.getpid()}.{threading.get_ident() % 10**6}"
    script = f"""#!/bin/sh
grep -E '^(CapEff|CapPrm|CapBnd):' /proc/self/status | cut -f2
ulimit -t; ulimit -v; ulimit -n; ulimit -Hn
echo started
exec sleep {marker}
"""
    limits = ProcessLimits(cpu_seconds=7, address_space_mb=512, open_files=64, processes=300)
    bundle = make_bundle(tmp_path / "bundle", ONE, {"steps/main.sh": script})
    cancel = threading.Event()
    said: list[str] = []
    outside: list[dict[str, str]] = []

    def on_log(_step: str, _stream: str, text: str) -> None:
        said.append(text)
        if "started" in text:
            for pid in _sleeping(marker):  # the step as the host sees it, from outside the namespaces
                lines = Path(f"/proc/{pid}/status").read_text().splitlines()
                outside.append(dict(line.split(":", 1) for line in lines if ":" in line))
            cancel.set()

    request = CastRequest(
        bundle_dir=bundle, manifest=load_manifest(bundle), input={}, env={}, log=on_log, cancel=cancel
    )
    result = HostRuntime(EngineSettings(limits=limits), sandbox=BwrapSandbox()).run(request)

    assert result.outcome is Outcome.CANCELED
    assert len(outside) == 1
    assert outside[0]["Uid"].split() == ["65534"] * 4  # real, effective, saved, file-system: nobody
    assert outside[0]["Gid"].split() == ["65534"] * 4
    assert outside[0]["Groups"].split() == []
    assert outside[0]["CapEff"].strip() == "0000000000000000"
    lines = "".join(said).split("\n")
    assert lines[:3] == ["0000000000000000"] * 3
    assert lines[3:8] == ["7", str(512 * 1024), "64", "64", "started"]


@pytest.mark.parametrize("helper", ["setpriv", "prlimit"])
def test_without_the_launcher_programs_the_sandbox_is_unavailable_and_no_step_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helper: str
) -> None:
    if helper == "setpriv" and os.geteuid() != 0:
        pytest.skip("setpriv is only needed to switch users, as root")
    real = shutil.which
    monkeypatch.setattr(
        "spell.runtimes.host.sandbox._which", lambda name: None if name == helper else real(name)
    )

    with pytest.raises(SandboxUnavailable) as refused:
        BwrapSandbox().check()
    result = _cast(tmp_path, "#!/bin/sh\necho ran\n", BwrapSandbox())

    assert helper in refused.value.message
    assert result.outcome is Outcome.FAILED
    assert helper in result.message
    assert "ran" not in result.stdout


def test_a_sandboxed_step_has_no_network(tmp_path: Path) -> None:
    # The interfaces of the step's network namespace, from /proc/net/dev (header lines skipped).
    script = "#!/bin/sh\ntail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '\n"

    result = _cast(tmp_path, script, BwrapSandbox())

    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert result.stdout.split() == ["lo"]  # a fresh network namespace: loopback only, nothing routed


def test_canceling_a_sandboxed_step_kills_a_descendant_in_a_session_of_its_own(tmp_path: Path) -> None:
    marker = f"{os.getpid()}.{threading.get_ident() % 10**6}"
    script = f"""#!/bin/sh
setsid sh -c 'echo $$ > "$HOME/child.pid"; exec sleep {marker}' </dev/null >/dev/null 2>&1 &
while ! grep -qs "{marker}" "/proc/$(cat "$HOME/child.pid" 2>/dev/null)/cmdline"; do :; done
echo started
exec sleep 300
"""
    cancel = threading.Event()
    bundle = make_bundle(tmp_path / "bundle", ONE, {"steps/main.sh": script})
    found: list[int] = []

    def on_log(_step: str, _stream: str, text: str) -> None:
        if "started" in text:
            found.extend(_sleeping(marker))
            cancel.set()

    request = CastRequest(
        bundle_dir=bundle, manifest=load_manifest(bundle), input={}, env={}, log=on_log, cancel=cancel
    )
    try:
        result = HostRuntime(sandbox=BwrapSandbox()).run(request)

        assert result.outcome is Outcome.CANCELED
        assert len(found) == 1  # the descendant was running when the cast was canceled
        assert _sleeping(marker) == []
    finally:
        for pid in _sleeping(marker):
            os.kill(pid, 9)


def _sleeping(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().split(b"\0")[:2] == [
                b"sleep",
                marker.encode(),
            ]:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_bubblewrap_that_is_gone_at_cast_time_fails_the_step_not_falls_back(tmp_path: Path) -> None:
    result = _cast(tmp_path, "#!/bin/sh\necho ran\n", BwrapSandbox(binary=str(tmp_path / "no-bwrap")))

    assert result.outcome is Outcome.FAILED
    assert "no-bwrap" in result.message
    assert "ran" not in result.stdout


def test_without_root_the_workspace_keeps_its_owner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "f").write_text("x")
    monkeypatch.setattr("spell.runtimes.host.sandbox.os.geteuid", lambda: 1000)

    BwrapSandbox().prepare(tmp_path)

    assert (tmp_path / "f").stat().st_uid == os.getuid()


def test_an_init_report_that_is_missing_or_not_bubblewraps_child_gives_no_pidfd() -> None:
    assert _init_pidfd(b"", parent=1) is None
    assert _init_pidfd(b'{"other": 1}', parent=1) is None
    assert _init_pidfd(json.dumps({"child-pid": os.getpid()}).encode(), parent=os.getpid()) is None
    ended = subprocess.Popen(["true"])
    ended.wait()
    assert _init_pidfd(json.dumps({"child-pid": ended.pid}).encode(), parent=os.getpid()) is None


def test_ending_an_unconfined_step_has_nothing_more_to_wait_for(tmp_path: Path) -> None:
    Unconfined().check()
    Unconfined().prepare(tmp_path)
    proc = subprocess.Popen(["true"])
    proc.wait()

    Spawned(proc).end()


def test_the_server_setting_offers_exactly_the_sandboxes_there_are() -> None:
    assert HOST_SANDBOXES == SANDBOX_NAMES
    assert {sandbox_named(name).name for name in SANDBOX_NAMES} == set(SANDBOX_NAMES)
