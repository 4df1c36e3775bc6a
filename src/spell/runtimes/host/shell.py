"""The ``shell`` step: execute the step file directly (never through a shell).

The process runs in the private copy of the bundle, reads the input from the file named by
``INPUT_JSON`` (the same file is its stdin), and sees only a minimal environment plus the
connector tokens the manifest declares.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Mapping
from pathlib import Path

from spell.runtimes.host.process import OutputHook, ProcessLimits, ProcessResult, run_process
from spell.runtimes.host.sandbox import Sandbox

__all__ = ["BASE_PATH", "run_shell_step", "step_environment"]

BASE_PATH = "/usr/local/bin:/usr/bin:/bin"


def step_environment(*, work_dir: Path, input_path: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """The whole environment a step sees: nothing is inherited from the caster's shell."""
    return {
        "PATH": BASE_PATH,
        "HOME": str(work_dir),
        "TMPDIR": str(work_dir / ".tmp"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "INPUT_JSON": str(input_path),
        **extra,
    }


def run_shell_step(
    script: Path,
    *,
    work_dir: Path,
    input_path: Path,
    env: Mapping[str, str],
    timeout_s: float,
    limits: ProcessLimits,
    cancel: threading.Event | None,
    on_output: OutputHook | None = None,
    sandbox: Sandbox | None = None,
    root: Path | None = None,
) -> ProcessResult:
    """Run the step file; a missing or non-executable file is a failed start, not a crash.

    ``sandbox`` starts the process (default: unconfined); it may see only ``root`` (default
    ``work_dir``), which must hold ``work_dir`` and ``input_path``.
    """
    # A step may have replaced a later step's file with a link (or its folder with a link to /), even
    # while this runs (steps of a wave run in parallel): what is checked and made executable here, as
    # the server's user, is the file opened once, and where that open file lies is what is checked.
    if not _make_executable_inside(script, work_dir.resolve()):
        return _not_started(f"step file not found: {script.relative_to(work_dir)}")
    with contextlib.suppress(FileExistsError):  # e.g. a step left a link there; TMPDIR is then its problem
        (work_dir / ".tmp").mkdir(exist_ok=True)
    return run_process(
        [str(script)],
        cwd=work_dir,
        env=env,
        stdin_path=input_path,
        timeout_s=timeout_s,
        limits=limits,
        cancel=cancel,
        on_output=on_output,
        sandbox=sandbox,
        root=root,
    )


def _not_started(message: str) -> ProcessResult:
    return ProcessResult(None, b"", b"", False, False, 0.0, 0.0, 0, start_error=message)


def _make_executable_inside(script: Path, root: Path) -> bool:
    """Open ``script`` once; False unless the opened file is a regular file under ``root``. Bundles
    unpacked from archives keep 0755 for executables; a copy may have lost it, so it is set again."""
    try:
        fd = os.open(script, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:  # missing, a link, or unreadable
        return False
    try:
        opened = Path(os.readlink(f"/proc/self/fd/{fd}"))
        mode = os.fstat(fd).st_mode
        if not opened.is_relative_to(root) or not stat.S_ISREG(mode):
            return False
        if not mode & stat.S_IXUSR:
            os.fchmod(fd, mode | stat.S_IXUSR)
        return True
    finally:
        os.close(fd)
