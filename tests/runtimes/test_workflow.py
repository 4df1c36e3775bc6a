"""The ``workflow`` runtime against a local fake GitHub: the dispatched run followed to its end, its
artifacts collected, and each way a cast can go wrong ending it with its own outcome and code."""

from __future__ import annotations

import socket
import threading
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from spell.bundle.manifest import SpellManifest
from spell.config.github import GitHubInstallation, GitHubSettings
from spell.errors import FetchFailed, ForbiddenRepo, InvalidInput, WorkflowNotFound
from spell.kit.clock import Clock, FakeClock
from spell.runtimes.base import CastRequest, Limits, Outcome
from spell.runtimes.workflow import (
    PERMISSIONS,
    AppTokens,
    Backoff,
    Repo,
    WorkflowRuntime,
    githubkit_client,
    workflow_runtime,
)
from tests.fakes.github_server import (
    FakeApp,
    FakeGitHub,
    FakeRepo,
    FakeWorkflow,
    new_app,
    running_fake_github,
    zip_of,
)

TENANT = "ten_caster"
REPO = "octo/builds"
INSTALLATION = 77


@pytest.fixture(scope="module")
def app() -> FakeApp:
    return new_app()


@pytest.fixture
def github(app: FakeApp) -> Iterator[FakeGitHub]:
    for fake in running_fake_github(app):
        fake.repos[REPO] = FakeRepo(
            INSTALLATION,
            {"build.yml": FakeWorkflow(artifacts={"report": zip_of({"report.txt": b"all green"})})},
        )
        yield fake


def _tokens(
    app: FakeApp, github: FakeGitHub, *, key: str | None = None, repos: tuple[str, ...] = (REPO,)
) -> AppTokens:
    bound = {TENANT: GitHubInstallation(INSTALLATION, frozenset(r.lower() for r in repos))}
    return AppTokens(app.app_id, key or app.private_pem, bound, api_url=github.url)


def _runtime(
    app: FakeApp, github: FakeGitHub, *, clock: Clock | None = None, **kwargs: Any
) -> WorkflowRuntime:
    tokens = kwargs.pop("tokens", None) or _tokens(app, github)
    return WorkflowRuntime(
        tokens,
        lambda token: githubkit_client(github.url, token),
        backoff=Backoff(first_s=0, max_s=0),
        clock=clock,
        **kwargs,
    )


def _manifest(**workflow: Any) -> SpellManifest:
    return SpellManifest.from_dict(
        {
            "id": "acme/ci",
            "version": "1.0.0",
            "name": "ci",
            "runtime": {"execution": "workflow", "workflow": {"file": "build.yml", **workflow}},
        }
    )


def _request(
    cast_input: Any = None, *, work_dir: Path | None = None, tenant: str | None = TENANT, **kwargs: Any
) -> CastRequest:
    value = {"repo": REPO, "inputs": {"target": "linux"}} if cast_input is None else cast_input
    manifest = kwargs.pop("manifest", None) or _manifest()
    return CastRequest(Path("/nonexistent"), manifest, value, work_dir=work_dir, tenant_id=tenant, **kwargs)


def test_a_dispatched_run_is_followed_to_success_and_its_artifacts_collected(
    app: FakeApp, github: FakeGitHub, tmp_path: Path
) -> None:
    told: list[tuple[str, str, str]] = []
    result = _runtime(app, github).run(
        _request(work_dir=tmp_path, progress=lambda *event: told.append(event))
    )
    assert result.outcome is Outcome.SUCCEEDED, result.message
    (run,) = github.runs.values()
    assert run.inputs["target"] == "linux"
    assert run.inputs["spell_run"].startswith("run_")
    assert run.ref == "main"
    assert result.output["run_id"] == run.id
    assert result.output["conclusion"] == "success"
    (artifact,) = result.artifacts
    assert artifact.name == "report.zip"
    assert artifact.media_type == "application/zip"
    with zipfile.ZipFile(artifact.path) as archive:
        assert archive.read("report.txt") == b"all green"
    assert result.output["artifacts"] == [
        {"name": "report.zip", "size": artifact.size, "sha256": artifact.sha256}
    ]
    assert [event for event, _, _ in told] == ["dispatched", "run", "queued", "in_progress", "completed"]
    assert {step for _, step, _ in told} == {"workflow"}
    assert result.usage.network_requests >= 6
    assert result.usage.network_bytes == artifact.size


def test_the_token_is_for_the_one_repository_with_the_least_permissions(
    app: FakeApp, github: FakeGitHub
) -> None:
    github.repos["octo/other"] = FakeRepo(INSTALLATION, {"build.yml": FakeWorkflow()})
    _runtime(app, github).run(_request())
    (token,) = github.minted()
    assert token.repos == frozenset({REPO})
    assert token.permissions == dict(PERMISSIONS)


def test_a_token_is_reused_while_it_is_fresh(app: FakeApp, github: FakeGitHub) -> None:
    runtime = _runtime(app, github)
    assert runtime.run(_request()).outcome is Outcome.SUCCEEDED
    assert runtime.run(_request()).outcome is Outcome.SUCCEEDED
    assert len(github.minted()) == 1


@pytest.mark.parametrize(
    ("conclusion", "outcome"),
    [("failure", Outcome.FAILED), ("cancelled", Outcome.CANCELED), ("timed_out", Outcome.TIMEOUT)],
)
def test_the_run_s_conclusion_is_the_cast_s_outcome(
    app: FakeApp, github: FakeGitHub, conclusion: str, outcome: Outcome
) -> None:
    github.repos[REPO].workflows["build.yml"].conclusion = conclusion
    result = _runtime(app, github).run(_request())
    assert result.outcome is outcome
    assert result.details["conclusion"] == conclusion
    assert result.output["conclusion"] == conclusion


def test_a_repository_not_bound_to_the_tenant_is_forbidden_before_github_is_asked(
    app: FakeApp, github: FakeGitHub
) -> None:
    result = _runtime(app, github).run(_request({"repo": "octo/secret"}))
    assert result.outcome is Outcome.FAILED
    assert result.details["code"] == "FORBIDDEN_REPO"
    assert github.requests == []


def test_a_cast_of_another_tenant_is_forbidden(app: FakeApp, github: FakeGitHub) -> None:
    result = _runtime(app, github).run(_request(tenant="ten_other"))
    assert result.details["code"] == "FORBIDDEN_REPO"
    assert github.requests == []


def test_a_bound_repository_the_app_is_not_installed_on_is_forbidden(
    app: FakeApp, github: FakeGitHub
) -> None:
    github.repos[REPO].installation_id = None
    result = _runtime(app, github).run(_request())
    assert result.details["code"] == "FORBIDDEN_REPO"
    assert github.minted() == []


def test_a_repository_of_another_installation_is_forbidden(app: FakeApp, github: FakeGitHub) -> None:
    github.repos[REPO].installation_id = INSTALLATION + 1
    assert _runtime(app, github).run(_request()).details["code"] == "FORBIDDEN_REPO"


def test_an_installation_without_the_permissions_is_forbidden(app: FakeApp, github: FakeGitHub) -> None:
    github.granted = {"contents": "read", "metadata": "read"}
    result = _runtime(app, github).run(_request())
    assert result.details["code"] == "FORBIDDEN_REPO"
    assert result.details["permissions"] == dict(PERMISSIONS)


def test_a_missing_workflow_file_fails_the_cast_with_workflow_not_found(
    app: FakeApp, github: FakeGitHub
) -> None:
    result = _runtime(app, github).run(_request(manifest=_manifest(file="deploy.yml")))
    assert result.outcome is Outcome.FAILED
    assert result.details["code"] == "WORKFLOW_NOT_FOUND"
    assert github.runs == {}


def test_inputs_the_workflow_does_not_declare_are_refused_by_github(app: FakeApp, github: FakeGitHub) -> None:
    result = _runtime(app, github).run(_request({"repo": REPO, "inputs": {"unknown": "x"}}))
    assert result.outcome is Outcome.FAILED
    assert result.details["code"] == "VALIDATION_ERROR"
    assert result.details["status"] == 422


@pytest.mark.parametrize(
    "cast_input",
    [
        {},
        {"repo": "no-slash"},
        {"repo": "octo/../x"},
        {"repo": REPO, "inputs": ["target"]},
        {"repo": REPO, "inputs": {"target": {"nested": 1}}},
        {"repo": REPO, "inputs": {"spell_run": "mine"}},
        {"repo": REPO, "inputs": {f"i{n}": "v" for n in range(25)}},
        "not an object",
    ],
)
def test_a_malformed_input_fails_the_cast_before_github_is_asked(
    app: FakeApp, github: FakeGitHub, cast_input: Any
) -> None:
    result = _runtime(app, github).run(_request(cast_input))
    assert result.outcome is Outcome.FAILED
    assert result.details["code"] == "VALIDATION_ERROR"
    assert github.requests == []


def test_numbers_and_booleans_are_passed_as_github_takes_them(app: FakeApp, github: FakeGitHub) -> None:
    github.repos[REPO].workflows["build.yml"].inputs = frozenset({"spell_run", "n", "flag"})
    result = _runtime(app, github).run(_request({"repo": REPO, "inputs": {"n": 3, "flag": True}}))
    assert result.outcome is Outcome.SUCCEEDED, result.message
    (run,) = github.runs.values()
    assert (run.inputs["n"], run.inputs["flag"]) == ("3", "true")


def test_no_inputs_key_sends_only_the_marker(app: FakeApp, github: FakeGitHub) -> None:
    result = _runtime(app, github).run(_request({"repo": REPO}, manifest=_manifest(inputs_from=None)))
    assert result.outcome is Outcome.SUCCEEDED, result.message
    (run,) = github.runs.values()
    assert set(run.inputs) == {"spell_run"}


class _Ticking(FakeClock):
    """Each monotonic reading is a second later: a run that never ends runs out of time in a few polls."""

    def monotonic(self) -> float:
        self.advance(1)
        return super().monotonic()


def test_a_run_past_the_time_limit_times_out_and_is_canceled_on_github(
    app: FakeApp, github: FakeGitHub
) -> None:
    github.repos[REPO].workflows["build.yml"].polls_to_complete = 10**6
    clock = _Ticking(datetime.now(UTC))
    result = _runtime(app, github, clock=clock).run(_request(limits=Limits(timeout_ms=8_000)))
    assert result.outcome is Outcome.TIMEOUT
    (run,) = github.runs.values()
    assert github.canceled == [run.id]
    assert result.output["run_id"] == run.id


def test_a_run_that_never_shows_up_times_out(app: FakeApp, github: FakeGitHub) -> None:
    github.repos[REPO].workflows["build.yml"].run_name_has_marker = False
    clock = _Ticking(datetime.now(UTC))
    result = _runtime(app, github, clock=clock).run(_request(limits=Limits(timeout_ms=5_000)))
    assert result.outcome is Outcome.TIMEOUT
    assert result.output["run_id"] is None


def test_a_cancel_stops_the_cast_and_cancels_the_run_on_github(app: FakeApp, github: FakeGitHub) -> None:
    github.repos[REPO].workflows["build.yml"].polls_to_complete = 10**6
    cancel = threading.Event()

    def progress(event: str, step: str, detail: str) -> None:
        if event == "in_progress":
            cancel.set()

    result = _runtime(app, github).run(_request(cancel=cancel, progress=progress))
    assert result.outcome is Outcome.CANCELED
    (run,) = github.runs.values()
    assert github.canceled == [run.id]


def test_a_cast_canceled_before_it_started_asks_nothing_of_github(app: FakeApp, github: FakeGitHub) -> None:
    cancel = threading.Event()
    cancel.set()
    assert _runtime(app, github).run(_request(cancel=cancel)).outcome is Outcome.CANCELED
    assert github.requests == []


def test_artifacts_past_the_budget_end_the_cast_at_its_output_limit(
    app: FakeApp, github: FakeGitHub, tmp_path: Path
) -> None:
    result = _runtime(app, github, max_artifact_bytes=10).run(_request(work_dir=tmp_path))
    assert result.outcome is Outcome.OUTPUT_LIMIT
    assert result.details["code"] == "LIMIT_EXCEEDED"


def test_an_artifact_larger_than_it_said_is_cut_off_at_the_budget(
    app: FakeApp, github: FakeGitHub, tmp_path: Path
) -> None:
    runtime = _runtime(app, github, max_artifact_bytes=10)
    listed = runtime.clients
    sizes: list[int] = []

    def lying(token: str) -> Any:
        api = listed(token)
        real = api.artifacts

        def artifacts(repo: Any, run_id: int) -> Any:
            found = real(repo, run_id)
            sizes.extend(a.size for a in found)
            return [type(a)(a.id, a.name, 1, a.expired) for a in found]

        api.artifacts = artifacts  # type: ignore[method-assign]
        return api

    runtime.clients = lying
    result = runtime.run(_request(work_dir=tmp_path))
    assert result.outcome is Outcome.OUTPUT_LIMIT
    assert sizes[0] > 10


def test_without_a_work_dir_no_artifact_is_collected(app: FakeApp, github: FakeGitHub) -> None:
    result = _runtime(app, github).run(_request())
    assert result.outcome is Outcome.SUCCEEDED
    assert result.artifacts == []
    assert not any(path.endswith("/artifacts") for _, path in github.requests)


def test_artifact_names_are_made_safe_and_distinct(app: FakeApp, github: FakeGitHub, tmp_path: Path) -> None:
    github.repos[REPO].workflows["build.yml"].artifacts = {"../x y": b"1", "..x_y": b"2"}
    result = _runtime(app, github).run(_request(work_dir=tmp_path))
    assert [a.name for a in result.artifacts] == ["x_y.zip", "x_y-2.zip"]
    assert all(a.path.parent == tmp_path for a in result.artifacts)


def test_github_failing_is_the_platform_s_fault(app: FakeApp, github: FakeGitHub) -> None:
    github.fail[r"/repos/octo/builds/actions/runs/\d+"] = 502
    result = _runtime(app, github).run(_request())
    assert result.outcome is Outcome.INTERNAL
    assert result.details["code"] == "FETCH_FAILED"
    assert result.details["status"] == 502


def test_a_jwt_signed_with_another_key_is_refused_by_github(app: FakeApp, github: FakeGitHub) -> None:
    stranger = new_app(app.app_id)
    result = _runtime(app, github, tokens=_tokens(app, github, key=stranger.private_pem)).run(_request())
    assert result.outcome is Outcome.INTERNAL
    assert result.details["code"] == "FETCH_FAILED"
    assert result.details["status"] == 401
    assert github.minted() == []


def test_a_manifest_without_its_workflow_block_is_refused_by_the_runtime(
    app: FakeApp, github: FakeGitHub
) -> None:
    manifest = SpellManifest.from_dict(
        {
            "id": "acme/x",
            "version": "1.0.0",
            "name": "x",
            "runtime": {"execution": "builtin", "builtin": "echo"},
        }
    )
    result = _runtime(app, github).run(_request(manifest=manifest))
    assert result.details["code"] == "VALIDATION_ERROR"


def test_the_local_check_refuses_an_unbound_repository_and_malformed_input_without_github(
    app: FakeApp, github: FakeGitHub
) -> None:
    runtime = _runtime(app, github)
    runtime.check(TENANT, _manifest(), {"repo": REPO})
    with pytest.raises(ForbiddenRepo) as forbidden:
        runtime.check(TENANT, _manifest(), {"repo": "octo/elsewhere"})
    assert forbidden.value.code == "FORBIDDEN_REPO"
    for cast_input in ({"repo": "nope"}, {"repo": REPO, "inputs": [1]}):
        with pytest.raises(InvalidInput) as invalid:
            runtime.admit(TENANT, _manifest(), cast_input)
        assert invalid.value.code == "VALIDATION_ERROR"
    builtin = SpellManifest.from_dict(
        {
            "id": "acme/x",
            "version": "1.0.0",
            "name": "x",
            "runtime": {"execution": "builtin", "builtin": "echo"},
        }
    )
    with pytest.raises(InvalidInput):
        runtime.admit(TENANT, builtin, {"repo": REPO})
    with pytest.raises(ForbiddenRepo):
        runtime.admit(TENANT, _manifest(), {"repo": "octo/elsewhere"})
    assert github.requests == []


def test_admission_asks_github_whether_the_workflow_is_there_every_time(
    app: FakeApp, github: FakeGitHub
) -> None:
    runtime = _runtime(app, github)
    runtime.admit(TENANT, _manifest(), {"repo": REPO})
    reads = [r for r in github.requests if r == ("GET", "/repos/octo/builds/actions/workflows/build.yml")]
    assert len(reads) == 1
    assert github.runs == {}  # nothing dispatched

    del github.repos[REPO].workflows["build.yml"]  # deleted after a cast was admitted
    with pytest.raises(WorkflowNotFound) as missing:
        runtime.admit(TENANT, _manifest(), {"repo": REPO})
    assert (missing.value.code, missing.value.status_code) == ("WORKFLOW_NOT_FOUND", 404)
    assert missing.value.details == {"repo": REPO, "workflow": "build.yml"}
    assert len(github.minted()) == 1  # the token was reused; the workflow was asked for again


def test_admission_refuses_a_bound_repository_the_app_is_not_installed_on(
    app: FakeApp, github: FakeGitHub
) -> None:
    runtime = _runtime(app, github, tokens=_tokens(app, github, repos=(REPO, "octo/nowhere")))
    with pytest.raises(ForbiddenRepo) as forbidden:
        runtime.admit(TENANT, _manifest(), {"repo": "octo/nowhere"})
    assert forbidden.value.details == {"repo": "octo/nowhere"}
    assert github.minted() == []


@pytest.mark.parametrize(
    "failing",
    [r"/repos/octo/builds/actions/workflows/build\.yml", r"/app/installations/\d+/access_tokens"],
)
def test_github_failing_at_admission_is_fetch_failed_to_try_again(
    app: FakeApp, github: FakeGitHub, failing: str
) -> None:
    github.fail[failing] = 503
    with pytest.raises(FetchFailed) as failed:
        _runtime(app, github).admit(TENANT, _manifest(), {"repo": REPO})
    assert (failed.value.code, failed.value.status_code) == ("FETCH_FAILED", 502)
    assert failed.value.details["status"] == 503
    assert failed.value.retry_after == 5
    assert "nothing was created" in (failed.value.hint or "")


def test_github_unreachable_at_admission_is_fetch_failed(app: FakeApp, github: FakeGitHub) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    runtime = WorkflowRuntime(
        AppTokens(
            app.app_id,
            app.private_pem,
            {TENANT: GitHubInstallation(INSTALLATION, frozenset({REPO}))},
            api_url=url,
        ),
        lambda token: githubkit_client(url, token),
    )
    with pytest.raises(FetchFailed) as failed:
        runtime.admit(TENANT, _manifest(), {"repo": REPO})
    assert failed.value.code == "FETCH_FAILED"
    assert failed.value.retry_after == 5


def test_the_settings_build_the_runtime_only_when_an_app_is_configured(
    app: FakeApp, github: FakeGitHub, tmp_path: Path
) -> None:
    assert workflow_runtime(GitHubSettings()) is None
    key = tmp_path / "app.pem"
    key.write_text(app.private_pem, encoding="utf-8")
    settings = GitHubSettings(
        app_id=app.app_id,
        private_key_path=key,
        api_url=github.url,
        installations={TENANT: GitHubInstallation(INSTALLATION, frozenset({REPO}))},
        poll_first_ms=0,
        poll_max_ms=0,
    )
    runtime = workflow_runtime(settings)
    assert runtime is not None
    assert runtime.run(_request()).outcome is Outcome.SUCCEEDED


def test_an_app_configured_without_the_github_client_installed_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "githubkit" else real(name, *a)
    )
    key = tmp_path / "app.pem"
    key.write_text("PEM", encoding="utf-8")
    with pytest.raises(InvalidInput) as refused:
        workflow_runtime(GitHubSettings(app_id=1, private_key_path=key))
    assert refused.value.code == "VALIDATION_ERROR"
    assert "spell-platform[github]" in (refused.value.hint or "")


def test_a_cast_canceled_before_its_run_was_listed_still_cancels_the_run(
    app: FakeApp, github: FakeGitHub
) -> None:
    github.repos[REPO].workflows["build.yml"].polls_to_complete = 10**6
    cancel = threading.Event()

    def progress(event: str, step: str, detail: str) -> None:
        if event == "dispatched":
            cancel.set()

    result = _runtime(app, github).run(_request(cancel=cancel, progress=progress))
    assert result.outcome is Outcome.CANCELED
    (run,) = github.runs.values()
    assert github.canceled == [run.id]


def test_expired_artifacts_are_skipped(app: FakeApp, github: FakeGitHub, tmp_path: Path) -> None:
    workflow = github.repos[REPO].workflows["build.yml"]
    workflow.artifacts = {"old": zip_of({"a": b"1"}), "new": zip_of({"b": b"2"})}
    workflow.expired = frozenset({"old"})
    result = _runtime(app, github).run(_request(work_dir=tmp_path))
    assert [a.name for a in result.artifacts] == ["new.zip"]


def test_canceling_a_run_that_already_ended_is_no_fault_and_other_refusals_are(
    app: FakeApp, github: FakeGitHub
) -> None:
    assert _runtime(app, github).run(_request()).outcome is Outcome.SUCCEEDED
    (run,) = github.runs.values()
    api = githubkit_client(github.url, _tokens(app, github).token_for(TENANT, Repo.parse(REPO)))
    api.cancel(Repo.parse(REPO), run.id)  # completed: GitHub answers 409, which is fine
    github.fail[r"/repos/octo/builds/actions/runs/\d+/cancel"] = 500
    with pytest.raises(FetchFailed) as failed:
        api.cancel(Repo.parse(REPO), run.id)
    assert failed.value.code == "FETCH_FAILED"
