"""``workflow`` spells on a server, against the fake GitHub: refused unless the operator configured the
GitHub App; when configured, a cast runs the workflow in the caster's own repository, streams the run's
status as progress events and keeps its artifacts, and a repository not bound to the caster's tenant is
refused before anything is created or charged."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from spell.config.github import GitHubInstallation, GitHubSettings
from spell.config.server import ServerSettings
from spell.models import Cast, SpellVersion
from spell.platform.cast.service import CastRequestBody
from spell.platform.server import Platform
from spell.runtimes.base import Runtime
from spell.signing.signature import sign_bundle
from spell.storage.session import Database, UnitOfWork
from tests.client.live_server import serving
from tests.fakes.github_server import (
    FakeApp,
    FakeGitHub,
    FakeRepo,
    FakeWorkflow,
    new_app,
    running_fake_github,
    zip_of,
)
from tests.fixtures.bundles import EMPTY_SBOM, Publisher, archive_of, write_sbom
from tests.fixtures.server import Caller, publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio

REPO = "octo/builds"
INSTALLATION = 77
SCHEMA = {
    "type": "object",
    "required": ["repo"],
    "properties": {"repo": {"type": "string"}, "inputs": {"type": "object"}},
}


def workflow_bundle(
    dest: Path, spell_id: str, *, file: str = "build.yml", signer: Publisher | None = None
) -> Path:
    """A spell that runs ``file`` in the caster's repository (signed when ``signer`` is given)."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    (dest / "spell.yaml").write_text(
        f"id: {spell_id}\nversion: 1.0.0\nname: {spell_id.split('/')[-1]}\nsummary: workflow spell\n"
        "inputs_schema: ./schema.json\nruntime:\n  execution: workflow\n"
        f"  workflow:\n    file: {file}\n    ref: main\n    timeout_ms: 60000\n",
        encoding="utf-8",
    )
    write_sbom(dest, EMPTY_SBOM)
    if signer is not None:
        sign_bundle(dest, signer.private_key, key_id=signer.key_id)
    return dest


async def _publish(
    client: httpx.AsyncClient, maker: Caller, tmp_path: Path, *, file: str = "build.yml"
) -> None:
    bundle = workflow_bundle(tmp_path / "bundle", "acme/ci", file=file, signer=maker.publisher)
    response = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert response.status_code == 201, response.text


async def test_a_workflow_spell_is_refused_where_no_github_app_is_configured(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    bundle = workflow_bundle(tmp_path / "b", "acme/ci", signer=maker.publisher)
    response = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "POLICY_DENIED"
    assert "workflow" not in error["details"]["allowed"]


@pytest.fixture(scope="module")
def app() -> FakeApp:
    return new_app()


@pytest.fixture
def github(app: FakeApp) -> Iterator[FakeGitHub]:
    for fake in running_fake_github(app):
        report = zip_of({"report.txt": b"all green"})
        fake.repos[REPO] = FakeRepo(INSTALLATION, {"build.yml": FakeWorkflow(artifacts={"report": report})})
        fake.repos["octo/private"] = FakeRepo(INSTALLATION, {"build.yml": FakeWorkflow()})
        yield fake


class TestConfigured:
    @pytest.fixture
    def bindings(self) -> dict[str, GitHubInstallation]:
        """The operator's tenant bindings: filled in once the caster's tenant exists."""
        return {}

    @pytest.fixture
    def platform(
        self,
        server_settings: ServerSettings,
        database: Database,
        runtimes: dict[str, Runtime],
        app: FakeApp,
        github: FakeGitHub,
        bindings: dict[str, GitHubInstallation],
        tmp_path: Path,
    ) -> Iterator[Platform]:
        key = tmp_path / "app.pem"
        key.write_text(app.private_pem, encoding="utf-8")
        settings = GitHubSettings(
            app_id=app.app_id,
            private_key_path=key,
            api_url=github.url,
            installations=bindings,
            poll_first_ms=0,
            poll_max_ms=0,
        )
        built = Platform.build(server_settings, runtimes=runtimes, database=database, github=settings)
        built.start()
        yield built
        built.stop()

    def _caster(self, platform: Platform, bindings: dict[str, GitHubInstallation]) -> Caller:
        caster = seed_user(platform, "caster@example.com", ["caster"])
        bindings[caster.tenant_id] = GitHubInstallation(INSTALLATION, frozenset({REPO}))
        return caster

    async def test_a_cast_runs_the_workflow_and_keeps_its_artifacts(
        self,
        client: httpx.AsyncClient,
        platform: Platform,
        github: FakeGitHub,
        bindings: dict[str, GitHubInstallation],
        tmp_path: Path,
    ) -> None:
        await _publish(client, await seed_maker(client, platform), tmp_path)
        caster = self._caster(platform, bindings)
        response = await client.post(
            "/v1/spells/acme/ci/cast",
            headers={**caster.headers, "Idempotency-Key": "t1", "Prefer": "wait=30"},
            json={"input": {"repo": REPO, "inputs": {"target": "linux"}}},
        )
        assert response.status_code == 200, response.text
        cast = response.json()
        assert cast["status"] == "succeeded", cast["error"]
        (run,) = github.runs.values()
        assert cast["output"]["run_id"] == run.id
        assert cast["output"]["conclusion"] == "success"
        assert run.inputs["target"] == "linux"
        assert cast["usage"]["network_requests"] >= 6
        (token,) = github.minted()
        assert token.repos == frozenset({REPO})

        listed = (await client.get(f"/v1/casts/{cast['id']}/artifacts", headers=caster.headers)).json()[
            "items"
        ]
        assert [a["name"] for a in listed] == ["report.zip"]
        download = await client.get(listed[0]["url"])
        assert download.status_code == 200
        with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
            assert archive.read("report.txt") == b"all green"

        events = (await client.get(f"/v1/casts/{cast['id']}/events", headers=caster.headers)).text
        for status in ("dispatched", "queued", "in_progress", "completed"):
            assert f'"event": "{status}"' in events
        assert '"step": "workflow"' in events

    async def test_a_repository_not_bound_to_the_caster_is_forbidden_and_nothing_is_cast(
        self,
        client: httpx.AsyncClient,
        platform: Platform,
        github: FakeGitHub,
        bindings: dict[str, GitHubInstallation],
        tmp_path: Path,
    ) -> None:
        await _publish(client, await seed_maker(client, platform), tmp_path)
        caster = self._caster(platform, bindings)
        response = await client.post(
            "/v1/spells/acme/ci/cast",
            headers={**caster.headers, "Idempotency-Key": "t4", "Prefer": "wait=10"},
            json={"input": {"repo": "octo/private"}},
        )
        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert error["code"] == "FORBIDDEN_REPO"
        assert error["details"] == {"repo": "octo/private"}
        listed = (await client.get("/v1/casts", headers=caster.headers)).json()["items"]
        assert listed == []
        assert github.requests == []  # refused on the operator's bindings alone

    async def test_another_tenant_may_not_use_a_bound_repository(
        self,
        client: httpx.AsyncClient,
        platform: Platform,
        github: FakeGitHub,
        bindings: dict[str, GitHubInstallation],
        tmp_path: Path,
    ) -> None:
        maker = await seed_maker(client, platform)
        await _publish(client, maker, tmp_path)
        self._caster(platform, bindings)
        response = await client.post(
            "/v1/spells/acme/ci/cast",
            headers={**maker.headers, "Idempotency-Key": "other"},
            json={"input": {"repo": REPO}},
        )
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "FORBIDDEN_REPO"

    async def test_a_malformed_repository_is_a_validation_error(
        self,
        client: httpx.AsyncClient,
        platform: Platform,
        bindings: dict[str, GitHubInstallation],
        tmp_path: Path,
    ) -> None:
        await _publish(client, await seed_maker(client, platform), tmp_path)
        caster = self._caster(platform, bindings)
        response = await client.post(
            "/v1/spells/acme/ci/cast",
            headers={**caster.headers, "Idempotency-Key": "bad"},
            json={"input": {"repo": "not a repo"}},
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"

    @pytest.mark.parametrize("wait", [0, 30])
    async def test_a_missing_workflow_is_404_at_creation_and_nothing_is_cast(
        self,
        client: httpx.AsyncClient,
        platform: Platform,
        github: FakeGitHub,
        bindings: dict[str, GitHubInstallation],
        tmp_path: Path,
        wait: int,
    ) -> None:
        await _publish(client, await seed_maker(client, platform), tmp_path, file="deploy.yml")
        caster = self._caster(platform, bindings)
        headers = {**caster.headers, "Idempotency-Key": "nf"} | ({"Prefer": f"wait={wait}"} if wait else {})
        response = await client.post(
            "/v1/spells/acme/ci/cast", headers=headers, json={"input": {"repo": REPO}}
        )
        assert response.status_code == 404, response.text
        error = response.json()["error"]
        assert (error["code"], error["details"]) == (
            "WORKFLOW_NOT_FOUND",
            {"repo": REPO, "workflow": "deploy.yml"},
        )
        await _nothing_cast(client, caster, github)

    async def test_a_workflow_deleted_after_a_cast_refuses_the_next_one(
        self,
        client: httpx.AsyncClient,
        platform: Platform,
        github: FakeGitHub,
        bindings: dict[str, GitHubInstallation],
        tmp_path: Path,
    ) -> None:
        await _publish(client, await seed_maker(client, platform), tmp_path)
        caster = self._caster(platform, bindings)
        first = await client.post(
            "/v1/spells/acme/ci/cast",
            headers={**caster.headers, "Idempotency-Key": "one", "Prefer": "wait=30"},
            json={"input": {"repo": REPO}},
        )
        assert first.json()["status"] == "succeeded", first.text
        del github.repos[REPO].workflows["build.yml"]
        second = await client.post(
            "/v1/spells/acme/ci/cast",
            headers={**caster.headers, "Idempotency-Key": "two", "Prefer": "wait=30"},
            json={"input": {"repo": REPO}},
        )
        assert second.status_code == 404, second.text
        assert second.json()["error"]["code"] == "WORKFLOW_NOT_FOUND"
        # The first cast's request again is its replay, whatever GitHub says now.
        again = await client.post(
            "/v1/spells/acme/ci/cast",
            headers={**caster.headers, "Idempotency-Key": "one"},
            json={"input": {"repo": REPO}},
        )
        assert (again.status_code, again.json()["id"]) == (200, first.json()["id"]), again.text
        listed = (await client.get("/v1/casts", headers=caster.headers)).json()["items"]
        assert [c["id"] for c in listed] == [first.json()["id"]]

    async def test_a_retry_of_a_cast_whose_workflow_is_gone_is_404_and_creates_nothing(
        self,
        client: httpx.AsyncClient,
        platform: Platform,
        github: FakeGitHub,
        bindings: dict[str, GitHubInstallation],
        tmp_path: Path,
    ) -> None:
        github.repos[REPO].workflows["build.yml"] = FakeWorkflow(conclusion="failure")
        await _publish(client, await seed_maker(client, platform), tmp_path)
        caster = self._caster(platform, bindings)
        failed = await client.post(
            "/v1/spells/acme/ci/cast",
            headers={**caster.headers, "Idempotency-Key": "r", "Prefer": "wait=30"},
            json={"input": {"repo": REPO}},
        )
        assert failed.json()["status"] == "failed", failed.text
        del github.repos[REPO].workflows["build.yml"]
        retried = await client.post(f"/v1/casts/{failed.json()['id']}/retry", headers=caster.headers)
        assert retried.status_code == 404, retried.text
        assert retried.json()["error"]["code"] == "WORKFLOW_NOT_FOUND"
        listed = (await client.get("/v1/casts", headers=caster.headers)).json()["items"]
        assert [(c["id"], c["retried_by"]) for c in listed] == [(failed.json()["id"], None)]

    @pytest.mark.parametrize(
        "failing",
        [r"/repos/octo/builds/actions/workflows/build\.yml", r"/app/installations/\d+/access_tokens"],
    )
    async def test_github_failing_at_creation_is_502_fetch_failed_and_nothing_is_cast(
        self,
        client: httpx.AsyncClient,
        platform: Platform,
        github: FakeGitHub,
        bindings: dict[str, GitHubInstallation],
        tmp_path: Path,
        failing: str,
    ) -> None:
        await _publish(client, await seed_maker(client, platform), tmp_path)
        caster = self._caster(platform, bindings)
        github.fail[failing] = 500
        request = {
            "headers": {**caster.headers, "Idempotency-Key": "down"},
            "json": {"input": {"repo": REPO}},
        }
        response = await client.post("/v1/spells/acme/ci/cast", **request)  # type: ignore[arg-type]
        assert response.status_code == 502, response.text
        assert response.headers["Retry-After"] == "5"
        error = response.json()["error"]
        assert (error["code"], error["details"]["status"]) == ("FETCH_FAILED", 500)
        await _nothing_cast(client, caster, github)
        github.fail.clear()  # GitHub is back: the same request is a new cast
        again = await client.post("/v1/spells/acme/ci/cast", **request)  # type: ignore[arg-type]
        assert again.status_code in (201, 202), again.text

    async def test_a_cast_of_another_runtime_asks_no_one_and_a_quick_one_stays_on_the_loop(
        self,
        client: httpx.AsyncClient,
        platform: Platform,
        github: FakeGitHub,
        bindings: dict[str, GitHubInstallation],
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        maker = await seed_maker(client, platform)
        await publish(client, maker, tmp_path)  # acme/hello, a pure WASM spell
        caster = self._caster(platform, bindings)
        warm = await client.post(  # its first cast loads the module, on a cast thread
            "/v1/spells/acme/hello/cast",
            headers={**caster.headers, "Idempotency-Key": "warm", "Prefer": "wait=20"},
            json={"input": {"name": "w"}},
        )
        assert warm.status_code == 200, warm.text
        asked: list[str] = []
        call_out, attempt = platform.casts.call_out, platform.runner.attempt

        def spy_call_out(principal: Any, body: CastRequestBody, key: str, digest: str) -> None:
            asked.append(body.spell_id)
            call_out(principal, body, key, digest)

        attempted_on: list[str] = []

        def spy_attempt(uow: UnitOfWork, cast: Cast, version: SpellVersion, **kwargs: Any) -> Cast | None:
            attempted_on.append(threading.current_thread().name)
            return attempt(uow, cast, version, **kwargs)

        monkeypatch.setattr(platform.casts, "call_out", spy_call_out)
        monkeypatch.setattr(platform.runner, "attempt", spy_attempt)
        loop_thread = threading.current_thread().name
        for key, prefer in (("quick", {"Prefer": "wait=10"}), ("queued", {})):
            response = await client.post(
                "/v1/spells/acme/hello/cast",
                headers={**caster.headers, "Idempotency-Key": key, **prefer},
                json={"input": {"name": key}},
            )
            assert response.status_code in (200, 202), response.text
        assert asked == []
        assert github.requests == []
        if platform.orchestrator.quick:  # SQLite: the waiting cast ran on the request's event loop
            assert attempted_on[0] == loop_thread
        # the workflow spell is still asked about, off the loop, before its cast exists
        await _publish(client, maker, tmp_path)
        response = await client.post(
            "/v1/spells/acme/ci/cast",
            headers={**caster.headers, "Idempotency-Key": "wf", "Prefer": "wait=30"},
            json={"input": {"repo": REPO}},
        )
        assert response.status_code == 200, response.text
        assert asked == ["acme/ci"]

    async def test_the_execution_api_refuses_with_404_and_403_before_anything_is_cast(
        self,
        client: httpx.AsyncClient,
        platform: Platform,
        github: FakeGitHub,
        bindings: dict[str, GitHubInstallation],
        tmp_path: Path,
    ) -> None:
        maker = await seed_maker(client, platform)
        await _publish(client, maker, tmp_path, file="deploy.yml")
        button = {"id": "ci", "spell_id": "acme/ci", "version": "1.0.0", "allowed_tenants": ["*"]}
        assert (await client.post("/v1/buttons", headers=maker.headers, json=button)).status_code == 201
        caster = self._caster(platform, bindings)
        for repo, status, code in (
            (REPO, 404, "WORKFLOW_NOT_FOUND"),
            ("octo/private", 403, "FORBIDDEN_REPO"),
        ):
            pressed = await client.post(
                "/api/spell-executions",
                headers={**caster.headers, "Idempotency-Key": f"press-{repo}"},
                json={"button_id": "ci", "input": {"repo": repo}},
            )
            assert pressed.status_code == status, pressed.text
            body = pressed.json()
            assert (body["ok"], body["error_code"]) == (False, code)
        github.fail[r"/repos/octo/builds/actions/workflows/deploy\.yml"] = 503
        down = await client.post(
            "/api/spell-executions",
            headers={**caster.headers, "Idempotency-Key": "press-down"},
            json={"button_id": "ci", "input": {"repo": REPO}},
        )
        assert down.status_code == 502, down.text
        assert (down.json()["error_code"], down.json()["retry_after"]) == ("FETCH_FAILED", 5)
        listed = await client.get("/api/spell-executions", headers=caster.headers)
        assert listed.status_code == 200, listed.text
        assert listed.json()["executions"] == []
        await _nothing_cast(client, caster, github)

    async def test_over_a_live_server_the_caster_follows_the_run_and_fetches_its_artifacts(
        self,
        client: httpx.AsyncClient,
        platform: Platform,
        server_settings: ServerSettings,
        bindings: dict[str, GitHubInstallation],
        tmp_path: Path,
    ) -> None:
        await _publish(client, await seed_maker(client, platform), tmp_path)
        caster = self._caster(platform, bindings)
        with serving(platform, server_settings) as live:
            async with httpx.AsyncClient(base_url=live.url, headers=caster.headers) as http:
                created = await http.post(
                    "/v1/spells/acme/ci/cast",
                    headers={"Idempotency-Key": "live"},
                    json={"input": {"repo": REPO, "inputs": {"target": "linux"}}},
                )
                assert created.status_code in (200, 201, 202), created.text
                cast_id = created.json()["id"]
                ended = await http.get(f"/v1/casts/{cast_id}", params={"wait": 30})
                assert ended.json()["status"] == "succeeded", ended.text
                listed = (await http.get(f"/v1/casts/{cast_id}/artifacts")).json()["items"]
                download = await http.get(listed[0]["url"])
        assert download.status_code == 200
        with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
            assert archive.read("report.txt") == b"all green"


async def _nothing_cast(client: httpx.AsyncClient, caster: Caller, github: FakeGitHub) -> None:
    """No cast of the caster's, no money of theirs moved, no run dispatched on GitHub."""
    assert (await client.get("/v1/casts", headers=caster.headers)).json()["items"] == []
    assert (await client.get("/v1/ledger", headers=caster.headers)).json()["items"] == []
    assert github.runs == {}
    assert not [r for r in github.requests if r[0] == "POST" and r[1].endswith("/dispatches")]
