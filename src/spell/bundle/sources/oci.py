"""Install source: ``oci:<image-ref>`` — the bundle at ``/spell`` inside a container image.

Docker does the pulling: ``docker create``, ``docker cp <container>:/spell/.``, ``docker rm -f``.
When no Docker engine answers, the install stops with ``EngineUnavailable`` before anything else.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from spell.bundle.sources.base import FetchContext, Fetched
from spell.errors import EngineUnavailable, FetchFailed, InvalidInput, Timeout

__all__ = ["PREFIX", "fetch_oci", "require_engine"]

PREFIX = "oci:"
_PROBE_TIMEOUT_S = 10.0


def fetch_oci(text: str, workdir: Path, ctx: FetchContext) -> Fetched:
    """Copy ``/spell`` out of the image into ``workdir/bundle``."""
    image = text[len(PREFIX) :].strip()
    if not image or image.startswith("-") or any(c.isspace() for c in image):
        raise InvalidInput(f"invalid oci source: {text} (expected oci:<image-ref>)", details={"source": text})
    require_engine(ctx)
    ctx.progress(f"creating a container from {image}")
    container = _docker(ctx, ["create", image], f"failed to create a container from '{image}'").strip()
    dest = workdir / "bundle"
    dest.mkdir()
    try:
        ctx.progress("copying /spell out of the image")
        _docker(ctx, ["cp", f"{container}:/spell/.", str(dest)], f"failed to copy /spell from '{image}'")
    finally:
        subprocess.run(
            [ctx.docker, "rm", "-f", container], capture_output=True, timeout=_PROBE_TIMEOUT_S, check=False
        )
    return Fetched(root=dest, kind="oci", source=text, image=image)


def require_engine(ctx: FetchContext) -> None:
    """Raise ``EngineUnavailable`` unless a Docker engine answers ``docker version``."""
    hint = "start Docker (or point DOCKER_HOST at an engine), or install from a folder, archive or git"
    try:
        done = subprocess.run(
            [ctx.docker, "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            timeout=_PROBE_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError as exc:
        raise EngineUnavailable(
            "docker executable not found: OCI installs need Docker on PATH",
            details={"docker": ctx.docker},
            hint=hint,
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise EngineUnavailable("the Docker engine did not answer in time", hint=hint) from exc
    if done.returncode != 0 or not done.stdout.strip():
        detail = " ".join(done.stderr.split())[:300] or f"docker exited with {done.returncode}"
        raise EngineUnavailable(
            f"no Docker engine is reachable: {detail}", details={"docker": ctx.docker}, hint=hint
        )


def _docker(ctx: FetchContext, args: list[str], failure: str) -> str:
    try:
        done = subprocess.run(
            [ctx.docker, *args], capture_output=True, text=True, timeout=ctx.timeout_s, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise Timeout(f"{failure}: docker took longer than {ctx.timeout_s:g}s") from exc
    if done.returncode != 0:
        raise FetchFailed(f"{failure}: {' '.join(done.stderr.split())[:300]}")
    return done.stdout
