"""A ``WorkflowApi`` that counts what a cast asked of GitHub: its usage is measured, never estimated."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from spell.runtimes.base import Usage
from spell.runtimes.workflow.github import Repo, Run, RunArtifact, WorkflowApi

__all__ = ["Metered"]


class Metered:
    """Each call is one request in ``usage.network_requests``; downloaded bytes go to ``network_bytes``."""

    def __init__(self, api: WorkflowApi, usage: Usage) -> None:
        self.api, self.usage = api, usage

    def check_workflow(self, repo: Repo, file: str) -> None:
        """``WorkflowApi.check_workflow``, counted."""
        self.usage.network_requests += 1
        self.api.check_workflow(repo, file)

    def dispatch(self, repo: Repo, file: str, ref: str, inputs: Mapping[str, str]) -> None:
        """``WorkflowApi.dispatch``, counted."""
        self.usage.network_requests += 1
        self.api.dispatch(repo, file, ref, inputs)

    def runs(self, repo: Repo, file: str, since: datetime) -> list[Run]:
        """``WorkflowApi.runs``, counted."""
        self.usage.network_requests += 1
        return self.api.runs(repo, file, since)

    def run(self, repo: Repo, run_id: int) -> Run:
        """``WorkflowApi.run``, counted."""
        self.usage.network_requests += 1
        return self.api.run(repo, run_id)

    def cancel(self, repo: Repo, run_id: int) -> None:
        """``WorkflowApi.cancel``, counted."""
        self.usage.network_requests += 1
        self.api.cancel(repo, run_id)

    def artifacts(self, repo: Repo, run_id: int) -> list[RunArtifact]:
        """``WorkflowApi.artifacts``, counted."""
        self.usage.network_requests += 1
        return self.api.artifacts(repo, run_id)

    def download(self, repo: Repo, artifact_id: int, dest: Path, *, max_bytes: int) -> int:
        """``WorkflowApi.download``, counted with its bytes."""
        self.usage.network_requests += 1
        size = self.api.download(repo, artifact_id, dest, max_bytes=max_bytes)
        self.usage.network_bytes += size
        self.usage.output_bytes += size
        return size
