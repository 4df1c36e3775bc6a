"""GitHub App settings: ``SPELL_GITHUB_*`` (workflow spells), read once at start-up.

Workflow spells run GitHub Actions workflows in the caster's own repositories through the platform's
GitHub App. They are off until the operator names the App (id and private key) and binds at least one
tenant to an installation of it, with the repositories that tenant may run workflows in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from spell.config.group import layered, read, setting
from spell.errors import InvalidInput

__all__ = ["GitHubInstallation", "GitHubSettings", "parse_installations"]

_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class GitHubInstallation:
    """One tenant's installation of the App and the repositories (``owner/name``) it may use."""

    installation_id: int
    repos: frozenset[str] = field(default_factory=frozenset)  # lower-case: GitHub's names ignore case

    def allows(self, repo: str) -> bool:
        """True when ``repo`` is one of the bound repositories."""
        return repo.lower() in self.repos


def parse_installations(raw: str) -> dict[str, GitHubInstallation]:
    """``{"<tenant id>": {"installation_id": 123, "repos": ["owner/name", ...]}, ...}`` (JSON)."""
    try:
        data: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ValueError("must be a JSON object of tenant id -> {installation_id, repos}")
    bound: dict[str, GitHubInstallation] = {}
    for tenant, entry in data.items():
        if not isinstance(entry, dict) or set(entry) - {"installation_id", "repos"}:
            raise ValueError(f"{tenant}: must be an object with installation_id and repos only")
        installation, repos = entry.get("installation_id"), entry.get("repos", [])
        if not isinstance(installation, int) or isinstance(installation, bool) or installation < 1:
            raise ValueError(f"{tenant}: installation_id must be a positive integer")
        if not isinstance(repos, list) or not all(isinstance(r, str) and _REPO.fullmatch(r) for r in repos):
            raise ValueError(f"{tenant}: repos must be a list of owner/name")
        bound[tenant] = GitHubInstallation(installation, frozenset(r.lower() for r in repos))
    return bound


@dataclass(frozen=True)
class GitHubSettings:
    """The platform's GitHub App, and which tenant may use which of its installations."""

    env_prefix: ClassVar[str] = "SPELL_GITHUB_"

    app_id: int | None = setting(None, "the GitHub App's id; turns workflow spells on", ge=1)
    private_key_path: Path | None = setting(None, "the App's private key (PEM) that signs its JWTs")
    api_url: str = setting("https://api.github.com", "the GitHub REST API (GitHub Enterprise, tests)")
    installations: Mapping[str, GitHubInstallation] = setting(
        default_factory=dict,
        description=(
            'JSON: tenant id -> {"installation_id": N, "repos": ["owner/name", ...]}; the repositories '
            "each tenant's workflow casts may run in"
        ),
        parse=parse_installations,
        shown_default="none",
    )
    poll_first_ms: int = setting(2_000, "first wait between polls of a workflow run", ge=0)
    poll_max_ms: int = setting(15_000, "longest wait between polls (the waits grow by half each time)", ge=0)
    max_artifact_mb: int = setting(100, "largest total of a run's artifacts collected into the cast", ge=1)
    request_timeout_ms: int = setting(10_000, "time limit of one GitHub API request", ge=1)

    @property
    def is_enabled(self) -> bool:
        """True when the App is named: workflow spells may then be published and cast."""
        return self.app_id is not None and self.private_key_path is not None

    def private_key(self) -> str:
        """The App's private key, read from ``private_key_path``."""
        if self.private_key_path is None:
            raise InvalidInput("SPELL_GITHUB_PRIVATE_KEY_PATH is not set")
        try:
            return self.private_key_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(
                f"SPELL_GITHUB_PRIVATE_KEY_PATH: cannot read {self.private_key_path}: {exc.strerror}"
            ) from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GitHubSettings:
        """Read ``SPELL_GITHUB_*``; the App id and its key go together."""
        settings = read(cls, layered(environ), cls())
        if (settings.app_id is None) != (settings.private_key_path is None):
            raise InvalidInput(
                "SPELL_GITHUB_APP_ID and SPELL_GITHUB_PRIVATE_KEY_PATH are set together or not at all",
                hint="download the App's private key from its settings page on GitHub",
            )
        return settings
