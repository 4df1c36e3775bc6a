"""The workflow runtime the operator's ``SPELL_GITHUB_*`` settings describe."""

from __future__ import annotations

import importlib.util

from spell.config.github import GitHubSettings
from spell.errors import InvalidInput
from spell.kit.clock import Clock
from spell.runtimes.workflow.app import AppTokens
from spell.runtimes.workflow.github import githubkit_client
from spell.runtimes.workflow.runtime import Backoff, WorkflowRuntime

__all__ = ["workflow_runtime"]


def workflow_runtime(settings: GitHubSettings, *, clock: Clock | None = None) -> WorkflowRuntime | None:
    """The runtime acting as the configured GitHub App, or None when no App is configured (workflow
    spells are then refused like any runtime the operator did not enable)."""
    if settings.app_id is None or not settings.is_enabled:
        return None
    if importlib.util.find_spec("githubkit") is None:  # refused at start, not at the first cast
        raise InvalidInput(
            "SPELL_GITHUB_APP_ID is set but the GitHub client is not installed",
            hint="pip install 'spell-platform[github]'",
        )
    timeout_s = settings.request_timeout_ms / 1000
    tokens = AppTokens(
        settings.app_id,
        settings.private_key(),
        settings.installations,
        api_url=settings.api_url,
        clock=clock,
        timeout_s=timeout_s,
    )
    return WorkflowRuntime(
        tokens,
        lambda token: githubkit_client(settings.api_url, token, timeout_s=timeout_s),
        backoff=Backoff(first_s=settings.poll_first_ms / 1000, max_s=settings.poll_max_ms / 1000),
        max_artifact_bytes=settings.max_artifact_mb * 1024 * 1024,
        clock=clock,
    )
