"""The few GitHub REST calls a workflow cast makes, over githubkit, with GitHub's answers turned into
the catalog's errors.

``WorkflowApi`` is what the runtime needs (one repository's workflows, runs and artifacts, with an
installation token); ``GitHubKitApi`` is it over githubkit, and ``githubkit_client`` the factory the
server passes to the runtime. githubkit is imported on first use: its models take seconds to load.
"""

from __future__ import annotations

import functools
import re
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from spell.errors import FetchFailed, InvalidInput, LimitExceeded, WorkflowNotFound

if TYPE_CHECKING:
    from githubkit import GitHub

__all__ = [
    "GitHubKitApi",
    "Repo",
    "Run",
    "RunArtifact",
    "WorkflowApi",
    "githubkit_client",
    "request_failure",
    "tls_context",
]

_REPO = re.compile(r"^(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/(?P<name>[A-Za-z0-9_.-]{1,100})$")
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Repo:
    """A repository, ``owner/name``."""

    owner: str
    name: str

    @classmethod
    def parse(cls, text: object) -> Repo:
        """``owner/name`` as GitHub spells it; ``VALIDATION_ERROR`` otherwise."""
        match = _REPO.fullmatch(text) if isinstance(text, str) else None
        if match is None or match["name"] in (".", ".."):
            raise InvalidInput(
                "the cast input's repo must be a GitHub repository, owner/name",
                details={"field": "repo"},
            )
        return cls(match["owner"], match["name"])

    @property
    def full_name(self) -> str:
        """``owner/name``."""
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class Run:
    """A workflow run as far as a cast follows it."""

    id: int
    status: str  # queued, in_progress, completed, waiting…
    conclusion: str | None  # success, failure, cancelled, timed_out… once completed
    html_url: str
    display_title: str


@dataclass(frozen=True)
class RunArtifact:
    """An artifact a run uploaded."""

    id: int
    name: str
    size: int
    expired: bool


class WorkflowApi(Protocol):
    """GitHub, as one installation token sees a repository."""

    def check_workflow(self, repo: Repo, file: str) -> None:
        """Return when the workflow file exists; ``WORKFLOW_NOT_FOUND`` otherwise."""
        ...

    def dispatch(self, repo: Repo, file: str, ref: str, inputs: Mapping[str, str]) -> None:
        """Start the workflow on ``ref`` with ``inputs`` (a ``workflow_dispatch`` event)."""
        ...

    def runs(self, repo: Repo, file: str, since: datetime) -> list[Run]:
        """The workflow's ``workflow_dispatch`` runs created at or after ``since``, newest first."""
        ...

    def run(self, repo: Repo, run_id: int) -> Run:
        """One run as it is now."""
        ...

    def cancel(self, repo: Repo, run_id: int) -> None:
        """Ask GitHub to cancel the run (a run that already ended is left as it is)."""
        ...

    def artifacts(self, repo: Repo, run_id: int) -> list[RunArtifact]:
        """The run's artifacts."""
        ...

    def download(self, repo: Repo, artifact_id: int, dest: Path, *, max_bytes: int) -> int:
        """Write the artifact's zip to ``dest``; its size. ``LIMIT_EXCEEDED`` past ``max_bytes``."""
        ...


def request_failure(exc: Exception, what: str) -> FetchFailed:
    """``FETCH_FAILED`` for a GitHub answer or transport fault nobody planned for (a platform fault)."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    details: dict[str, Any] = {"call": what}
    if status is not None:
        details["status"] = status
    return FetchFailed(f"GitHub failed to {what}: {exc}", details=details)


def _status(exc: Exception) -> int | None:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


@contextmanager
def _answering(what: str, *, not_found: Exception | None = None, refused: bool = False) -> Iterator[None]:
    """Map githubkit's failures: 404 to ``not_found`` when given, 422 to ``VALIDATION_ERROR`` when
    ``refused`` (GitHub's own reason kept), anything else to ``FETCH_FAILED``."""
    from githubkit.exception import GitHubException

    try:
        yield
    except GitHubException as exc:
        status = _status(exc)
        if status == 404 and not_found is not None:
            raise not_found from None
        if status == 422 and refused:
            raise InvalidInput(
                f"GitHub refused to {what}: {_message(exc)}", details={"call": what, "status": 422}
            ) from None
        raise request_failure(exc, what) from None


def _message(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    try:
        body = response.json() if response is not None else {}
    except ValueError:
        return ""
    return str(body.get("message", "")) if isinstance(body, dict) else ""


def _run(data: Mapping[str, Any]) -> Run:
    return Run(
        id=int(data["id"]),
        status=str(data.get("status") or ""),
        conclusion=data.get("conclusion"),
        html_url=str(data.get("html_url") or ""),
        display_title=str(data.get("display_title") or data.get("name") or ""),
    )


class GitHubKitApi:
    """``WorkflowApi`` over a githubkit client holding an installation token."""

    def __init__(self, github: GitHub[Any]) -> None:
        self.github = github

    def check_workflow(self, repo: Repo, file: str) -> None:
        """Return when the workflow file exists; ``WORKFLOW_NOT_FOUND`` otherwise."""
        missing = WorkflowNotFound(
            f"{repo.full_name} has no workflow {file!r}",
            details={"repo": repo.full_name, "workflow": file},
            hint="the workflow file must be under .github/workflows/ on the repository's default branch",
        )
        with _answering("read the workflow", not_found=missing):
            self.github.rest.actions.get_workflow(repo.owner, repo.name, file)

    def dispatch(self, repo: Repo, file: str, ref: str, inputs: Mapping[str, str]) -> None:
        """Start the workflow on ``ref`` with ``inputs``."""
        with _answering("dispatch the workflow", refused=True):
            self.github.rest.actions.create_workflow_dispatch(
                repo.owner, repo.name, file, data={"ref": ref, "inputs": dict(inputs)}
            )

    def runs(self, repo: Repo, file: str, since: datetime) -> list[Run]:
        """The workflow's dispatched runs created at or after ``since``."""
        created = ">=" + since.strftime("%Y-%m-%dT%H:%M:%SZ")
        with _answering("list workflow runs"):
            answer = self.github.rest.actions.list_workflow_runs(
                repo.owner, repo.name, file, event="workflow_dispatch", created=created, per_page=100
            )
            return [_run(item) for item in answer.json().get("workflow_runs", [])]

    def run(self, repo: Repo, run_id: int) -> Run:
        """One run as it is now."""
        with _answering("read the workflow run"):
            return _run(self.github.rest.actions.get_workflow_run(repo.owner, repo.name, run_id).json())

    def cancel(self, repo: Repo, run_id: int) -> None:
        """Ask GitHub to cancel the run; 409 (it already ended) is fine."""
        from githubkit.exception import GitHubException

        try:
            self.github.rest.actions.cancel_workflow_run(repo.owner, repo.name, run_id)
        except GitHubException as exc:
            if _status(exc) != 409:
                raise request_failure(exc, "cancel the workflow run") from None

    def artifacts(self, repo: Repo, run_id: int) -> list[RunArtifact]:
        """The run's artifacts."""
        with _answering("list the run's artifacts"):
            answer = self.github.rest.actions.list_workflow_run_artifacts(
                repo.owner, repo.name, run_id, per_page=100
            )
            return [
                RunArtifact(
                    int(a["id"]), str(a["name"]), int(a.get("size_in_bytes") or 0), bool(a.get("expired"))
                )
                for a in answer.json().get("artifacts", [])
            ]

    def download(self, repo: Repo, artifact_id: int, dest: Path, *, max_bytes: int) -> int:
        """Stream the artifact's zip into ``dest``, stopping past ``max_bytes``."""
        written = 0
        # A streamed answer needs its client open while it is read: the client's context holds it.
        with _answering("download an artifact"), self.github:
            answer = self.github.rest.actions.download_artifact(
                repo.owner, repo.name, artifact_id, "zip", stream=True
            )
            with dest.open("wb") as out:
                for chunk in answer.iter_bytes(_CHUNK):
                    written += len(chunk)
                    if written > max_bytes:
                        answer.raw_response.close()
                        raise LimitExceeded(
                            f"the run's artifacts are larger than {max_bytes} bytes",
                            details={"limit_bytes": max_bytes},
                        )
                    out.write(chunk)
        return written


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default TLS context, built once: githubkit opens a client per call, and loading the CA
    bundle is most of what that costs."""
    import httpx

    return httpx.create_ssl_context()


def githubkit_client(api_url: str, token: str, *, timeout_s: float = 10.0) -> GitHubKitApi:
    """A ``WorkflowApi`` at ``api_url`` acting with ``token`` (no HTTP cache, no automatic retries: the
    runtime polls and bounds the time itself)."""
    from githubkit import GitHub

    github: GitHub[Any] = GitHub(
        token,
        base_url=api_url,
        http_cache=False,
        auto_retry=False,
        timeout=timeout_s,
        trust_env=False,
        ssl_verify=tls_context(),
    )
    return GitHubKitApi(github)
