"""Docker runtime settings: ``SPELL_DOCKER_*`` — the client binary and the container's hardening flags."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from spell.config.group import read, setting

__all__ = ["DockerOptions"]

_CLIENT_ENV = frozenset(
    {
        "DOCKER_HOST",
        "DOCKER_CONFIG",
        "DOCKER_CONTEXT",
        "DOCKER_CERT_PATH",
        "DOCKER_TLS_VERIFY",
        "HOME",
        "XDG_RUNTIME_DIR",
    }
)


@dataclass(frozen=True)
class DockerOptions:
    """Hardening settings; every field can be overridden with ``SPELL_DOCKER_<FIELD>``."""

    env_prefix: ClassVar[str] = "SPELL_DOCKER_"

    binary: str = setting("docker", "the docker-compatible client (a name on `PATH` or a path)")
    network: str = setting("none", "the container's `--network`")
    user: str = setting("65532:65532", "the container's `--user`")
    pids_limit: int = setting(256, "the container's `--pids-limit`", ge=1)
    memory: str = setting("512m", "the container's `--memory`")
    cpus: str = setting("1", "the container's `--cpus`")
    tmpfs_size: str = setting(
        "64m", "size of each of the container's writable tmpfs folders (`/tmp`, the home)"
    )
    timeout_ms: int = setting(300_000, "time limit of a docker cast", ge=1)
    # What the docker *client* needs to find its engine; never forwarded into the container.
    client_env: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_mapping(cls, environ: Mapping[str, str]) -> DockerOptions:
        """Apply ``SPELL_DOCKER_*`` values given by the edge (the library never reads the env)."""
        client_env = tuple(sorted((k, v) for k, v in environ.items() if k in _CLIENT_ENV))
        return read(cls, environ, cls(client_env=client_env))
