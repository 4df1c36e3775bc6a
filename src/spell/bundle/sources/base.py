"""What every install source hands back, and the values a fetch needs (passed in by the edge)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FetchContext", "Fetched", "Progress", "quiet"]

Progress = Callable[[str], None]


def quiet(_message: str) -> None:
    """A progress sink that says nothing."""


@dataclass(frozen=True)
class FetchContext:
    """Settings for one fetch.

    ``registry_file`` is ``$SPELL_HOME/registry.json``; ``registry_name`` picks an index (``default``
    when None); ``required_pins`` is the ``SPELL_REGISTRY_REQUIRED_PINS`` value; ``progress`` receives
    one line per slow step (clone, download); ``git``/``docker`` name the executables.
    """

    registry_file: Path | None = None
    registry_name: str | None = None
    required_pins: str = "both"
    progress: Progress = quiet
    git: str = "git"
    docker: str = "docker"
    timeout_s: float = 300.0


@dataclass(frozen=True)
class Fetched:
    """A bundle folder ready to install, and where it came from.

    ``expected_digest`` is set when a registry pinned one: the installer must compare it with the
    digest it computes.
    """

    root: Path
    kind: str
    source: str
    ref: str | None = None
    commit: str | None = None
    image: str | None = None
    url: str | None = None
    registry: str | None = None
    expected_digest: str | None = None
