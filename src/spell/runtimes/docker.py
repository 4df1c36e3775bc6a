"""The ``docker`` runtime: the ``spell-runner`` inside the spell's image, with hardened flags.

The container gets no network, no capabilities, no privilege escalation, a read-only root, an
unprivileged user, a process cap and tmpfs work dirs. The bundle and the input are mounted
read-only. Connector tokens are passed by name (``-e NAME``) so their values never appear on the
``docker`` command line; the ``docker`` process gets them in its environment instead.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

from spell.config.docker import DockerOptions
from spell.errors import EngineUnavailable, OutputInvalid
from spell.kit.json_depth import text_nests_beyond
from spell.runtimes.base import MAX_OUTPUT_DEPTH, CastRequest, CastResult, Outcome, Usage

__all__ = ["DockerOptions", "DockerRuntime", "build_docker_argv", "parse_runner_output"]

BUNDLE_MOUNT = "/spell"
INPUT_MOUNT = "/spell-input"
_ENGINE_DOWN = ("Cannot connect to the Docker daemon", "Is the docker daemon running", "error during connect")


def build_docker_argv(
    image: str,
    *,
    bundle_dir: Path,
    input_dir: Path,
    token_names: list[str],
    options: DockerOptions,
    name: str,
) -> list[str]:
    """The exact ``docker run`` command line of one cast (``name`` lets a cancel kill it)."""
    argv = [
        options.binary,
        "run",
        "--rm",
        "-i",
        "--name",
        name,
        "--network",
        options.network,
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--read-only",
        "--user",
        options.user,
        "--pids-limit",
        str(options.pids_limit),
        "--memory",
        options.memory,
        "--cpus",
        options.cpus,
        "--tmpfs",
        f"/tmp:rw,nosuid,nodev,size={options.tmpfs_size}",  # noqa: S108 - the container's own tmpfs
        "--tmpfs",
        f"/home/spell:rw,nosuid,nodev,noexec,size={options.tmpfs_size}",
        "--workdir",
        "/tmp",  # noqa: S108
        "-v",
        f"{bundle_dir.resolve()}:{BUNDLE_MOUNT}:ro",
        "-v",
        f"{input_dir.resolve()}:{INPUT_MOUNT}:ro",
        "-e",
        "HOME=/home/spell",
        "-e",
        "TMPDIR=/tmp",
        "-e",
        f"INPUT_JSON={INPUT_MOUNT}/input.json",
    ]
    for name in sorted(token_names):
        argv += ["-e", name]
    argv += [image, "spell-runner", f"{BUNDLE_MOUNT}/spell.yaml", f"{INPUT_MOUNT}/input.json"]
    return argv


class DockerRuntime:
    """Run a docker spell; ``EngineUnavailable`` when no Docker engine answers."""

    def __init__(self, options: DockerOptions | None = None) -> None:
        self.options = options or DockerOptions()

    def run(self, request: CastRequest) -> CastResult:
        """Run the cast in a container and map the runner's JSON line onto the contract; setting
        ``request.cancel`` kills the container (``CANCELED``)."""
        image = request.manifest.runtime.docker_image or ""
        if shutil.which(self.options.binary) is None:
            raise _unavailable(f"docker not found: {self.options.binary!r} is not on PATH")
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="spell-docker-") as tmp:
            input_dir = Path(tmp)
            (input_dir / "input.json").write_text(json.dumps(request.input), encoding="utf-8")
            input_dir.chmod(0o755)
            (input_dir / "input.json").chmod(0o644)  # the container user is not us
            name = f"spell-{uuid.uuid4().hex[:16]}"
            argv = build_docker_argv(
                image,
                bundle_dir=request.bundle_dir,
                input_dir=input_dir,
                token_names=list(request.env),
                options=self.options,
                name=name,
            )
            env = {"PATH": "/usr/local/bin:/usr/bin:/bin", **dict(self.options.client_env), **request.env}
            ended = self._run_client(argv, env, name, request.cancel)
            if ended is None:
                return CastResult(Outcome.CANCELED, message="cast canceled")
            if isinstance(ended, str):
                return CastResult(Outcome.TIMEOUT, message=ended)
            done = ended
        stderr = done.stderr.decode("utf-8", errors="replace")
        if done.returncode == 125 or any(marker in stderr for marker in _ENGINE_DOWN):
            raise _unavailable(stderr.strip().splitlines()[-1] if stderr.strip() else "docker run failed")
        result = parse_runner_output(done.stdout.decode("utf-8", errors="replace"), stderr)
        result.usage.wall_ms = round((time.perf_counter() - started) * 1000.0, 3)
        return result

    def _run_client(
        self, argv: list[str], env: dict[str, str], name: str, cancel: threading.Event | None
    ) -> subprocess.CompletedProcess[bytes] | str | None:
        """Run ``docker run``; on timeout or cancel kill the container by name (the client alone
        would leave it running). Returns the finished process, a timeout message, or None."""
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(argv, env=env, stdout=out, stderr=err)
            deadline = time.monotonic() + self.options.timeout_ms / 1000.0
            stop: str | None = None
            while proc.poll() is None:
                if cancel is not None and cancel.is_set():
                    stop = "canceled"
                elif time.monotonic() >= deadline:
                    stop = f"docker run timed out after {self.options.timeout_ms} ms"
                if stop is not None:
                    kill = [self.options.binary, "kill", name]
                    subprocess.run(kill, env=env, capture_output=True, timeout=30, check=False)
                    proc.kill()
                    proc.wait()
                    return None if stop == "canceled" else stop
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=0.05)
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(argv, proc.returncode, out.read(), err.read())


def parse_runner_output(stdout: str, stderr: str = "") -> CastResult:
    """Turn the runner's last JSON line into a ``CastResult``."""
    lines = [line for line in stdout.strip().splitlines() if line.strip()]
    # The result line wraps the step outputs (each nested at most MAX_OUTPUT_DEPTH) a few levels deep.
    if lines and text_nests_beyond(lines[-1].encode("utf-8", errors="surrogatepass"), MAX_OUTPUT_DEPTH + 4):
        problem = OutputInvalid(f"the result line is JSON nested deeper than {MAX_OUTPUT_DEPTH} levels")
        details = {"code": problem.code, "reason": "output_too_deep"}
        return CastResult(Outcome.FAILED, stderr=stderr, message=problem.message, details=details)
    try:
        data = json.loads(lines[-1]) if lines else None
    except (json.JSONDecodeError, RecursionError):
        data = None
    if not isinstance(data, dict):
        return CastResult(Outcome.INTERNAL, stderr=stderr, message="spell-runner printed no JSON result line")
    try:
        outcome = Outcome(data.get("outcome", "SUCCEEDED" if data.get("success") else "FAILED"))
    except ValueError:
        outcome = Outcome.INTERNAL
    usage = Usage(**{k: v for k, v in (data.get("usage") or {}).items() if k in Usage.__dataclass_fields__})
    return CastResult(
        outcome=outcome,
        output=data.get("outputs") or {},
        stderr=stderr,
        message=str(data.get("error") or ""),
        usage=usage,
        details={k: data.get(k, []) for k in ("steps", "checks", "rollback")},
    )


def _unavailable(reason: str) -> EngineUnavailable:
    return EngineUnavailable(
        f"no Docker engine is reachable: {reason}",
        details={"reason": reason},
        hint="start Docker (or point SPELL_DOCKER_BINARY at a working client), or cast a host/wasm spell",
    )
