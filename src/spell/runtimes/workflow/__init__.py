"""Workflow spells: GitHub Actions workflows run in the caster's repository through the platform's
GitHub App (``runtime.execution: workflow``). See docs/workflow.md."""

from __future__ import annotations

from spell.errors import ForbiddenRepo, WorkflowNotFound
from spell.runtimes.workflow.app import PERMISSIONS, AppTokens, TokenProvider
from spell.runtimes.workflow.github import GitHubKitApi, Repo, Run, RunArtifact, WorkflowApi, githubkit_client
from spell.runtimes.workflow.runtime import RUN_INPUT, Backoff, ClientFactory, WorkflowRuntime
from spell.runtimes.workflow.setup import workflow_runtime

__all__ = [
    "PERMISSIONS",
    "RUN_INPUT",
    "AppTokens",
    "Backoff",
    "ClientFactory",
    "ForbiddenRepo",
    "GitHubKitApi",
    "Repo",
    "Run",
    "RunArtifact",
    "TokenProvider",
    "WorkflowApi",
    "WorkflowNotFound",
    "WorkflowRuntime",
    "githubkit_client",
    "workflow_runtime",
]
