"""A local stand-in for the GitHub REST API of a GitHub App: installation tokens, workflows, runs and
artifacts.

It checks what GitHub checks: the App's JWT (RS256 against the test App's public key, issuer, expiry),
installation tokens limited to the repositories and permissions they were minted for, workflow inputs
the workflow does not declare (422). Runs advance on the fake's own schedule: a run is listed only after
``list_delay`` listings, and completes with the workflow's ``conclusion`` after ``polls_to_complete``
reads of it. Artifact downloads redirect to a blob URL, as GitHub's do.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from spell.kit.clock import Clock, SystemClock

__all__ = [
    "FakeApp",
    "FakeGitHub",
    "FakeRepo",
    "FakeWorkflow",
    "new_app",
    "running_fake_github",
    "zip_of",
]


def zip_of(files: dict[str, bytes]) -> bytes:
    """A zip archive of ``files`` (what GitHub serves for an artifact)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@dataclass(frozen=True)
class FakeApp:
    """A test GitHub App: its id and RSA key pair (PEM)."""

    app_id: int
    private_pem: str
    public_pem: str


def new_app(app_id: int = 4242) -> FakeApp:
    """A fresh App with a 2048-bit RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return FakeApp(app_id, private, public)


@dataclass
class FakeWorkflow:
    """A workflow file: the inputs it declares, how its runs go and what they upload."""

    inputs: frozenset[str] = frozenset({"spell_run", "target"})
    conclusion: str = "success"
    polls_to_complete: int = 2
    artifacts: dict[str, bytes] = field(default_factory=dict)  # name -> zip bytes
    run_name_has_marker: bool = True  # its run-name carries ${{ inputs.spell_run }}
    expired: frozenset[str] = frozenset()  # artifact names listed as expired (past their retention)


@dataclass
class FakeRepo:
    """A repository the App may be installed on."""

    installation_id: int | None
    workflows: dict[str, FakeWorkflow] = field(default_factory=dict)


@dataclass
class _Run:
    id: int
    repo: str
    file: str
    title: str
    inputs: dict[str, str]
    ref: str
    created_at: datetime
    status: str = "queued"
    conclusion: str | None = None
    reads: int = 0
    listings: int = 0
    artifacts: list[tuple[int, str]] = field(default_factory=list)  # (blob id, name)


@dataclass(frozen=True)
class _Token:
    installation_id: int
    repos: frozenset[str]
    permissions: dict[str, str]


@dataclass
class FakeGitHub:
    """The fake's state; change it from a test between casts."""

    app: FakeApp
    clock: Clock = field(default_factory=SystemClock)
    repos: dict[str, FakeRepo] = field(default_factory=dict)
    granted: dict[str, str] = field(
        default_factory=lambda: {"actions": "write", "contents": "read", "metadata": "read"}
    )
    list_delay: int = 1  # listings of a new run that do not show it yet
    url: str = ""
    runs: dict[int, _Run] = field(default_factory=dict)
    tokens: dict[str, _Token] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    canceled: list[int] = field(default_factory=list)
    fail: dict[str, int] = field(default_factory=dict)  # path regex -> status answered instead
    lock: threading.Lock = field(default_factory=threading.Lock)
    _blobs: dict[int, bytes] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: iter(range(1000, 10**9)))

    def minted(self) -> list[_Token]:
        """Every installation token handed out, oldest first."""
        return list(self.tokens.values())

    # request handling ------------------------------------------------------------------------------
    def answer(
        self, method: str, target: str, headers: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        """Status, JSON body (or bytes) and extra headers for one request."""
        path, query = urlsplit(target).path, parse_qs(urlsplit(target).query)
        with self.lock:
            self.requests.append((method, path))
            for pattern, status in self.fail.items():
                if re.fullmatch(pattern, path):
                    return status, {"message": "injected failure"}, {}
            return self._route(method, path, query, headers.get("authorization", ""), body)

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], auth: str, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        if m := re.fullmatch(r"/_blobs/(\d+)", path):
            return 200, self._blobs[int(m[1])], {"content-type": "application/zip"}
        if m := re.fullmatch(r"/app/installations/(\d+)/access_tokens", path):
            return self._as_app(auth) or self._mint(int(m[1]), body or {})
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)(/.*)", path)
        if m is None:
            return 404, {"message": "Not Found"}, {}
        repo_name, rest = m[1], m[2]
        if rest == "/installation":
            return self._as_app(auth) or self._installation(repo_name)
        token = self._token(auth, repo_name)
        if isinstance(token, tuple):
            return token
        repo = self.repos[repo_name]
        return self._actions(method, repo_name, repo, rest, query, token, body)

    def _actions(
        self,
        method: str,
        name: str,
        repo: FakeRepo,
        rest: str,
        query: dict[str, list[str]],
        token: _Token,
        body: Any,
    ) -> tuple[int, Any, dict[str, str]]:
        if m := re.fullmatch(r"/actions/workflows/([^/]+)", rest):
            return (
                (200, {"id": 1, "path": f".github/workflows/{m[1]}", "state": "active"}, {})
                if m[1] in repo.workflows
                else (404, {"message": "Not Found"}, {})
            )
        if m := re.fullmatch(r"/actions/workflows/([^/]+)/dispatches", rest):
            return self._writes(token) or self._dispatch(name, repo, m[1], body or {})
        if m := re.fullmatch(r"/actions/workflows/([^/]+)/runs", rest):
            return self._list(name, m[1], query)
        if m := re.fullmatch(r"/actions/runs/(\d+)", rest):
            return self._read(name, int(m[1]))
        if m := re.fullmatch(r"/actions/runs/(\d+)/cancel", rest):
            return self._writes(token) or self._cancel(name, int(m[1]))
        if m := re.fullmatch(r"/actions/runs/(\d+)/artifacts", rest):
            return self._artifacts(name, int(m[1]))
        if m := re.fullmatch(r"/actions/artifacts/(\d+)/zip", rest):
            blob = int(m[1])
            if blob not in self._blobs:
                return 404, {"message": "Not Found"}, {}
            return 302, b"", {"location": f"{self.url}/_blobs/{blob}"}
        return 404, {"message": "Not Found"}, {}

    # the App and its tokens ------------------------------------------------------------------------
    def _as_app(self, auth: str) -> tuple[int, Any, dict[str, str]] | None:
        """None when ``auth`` is a valid JWT of the App, else GitHub's 401."""
        bearer = auth.removeprefix("Bearer ").strip()
        try:
            claims = jwt.decode(
                bearer,
                self.app.public_pem,
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"]},
                leeway=0,
            )
        except jwt.PyJWTError as exc:
            return 401, {"message": f"A JSON web token could not be decoded: {exc}"}, {}
        if str(claims["iss"]) != str(self.app.app_id) or claims["exp"] - claims["iat"] > 600:
            return 401, {"message": "'Issuer' or 'Expiration time' claim is invalid"}, {}
        return None

    def _installation(self, name: str) -> tuple[int, Any, dict[str, str]]:
        repo = self.repos.get(name)
        if repo is None or repo.installation_id is None:
            return 404, {"message": "Not Found"}, {}
        return 200, {"id": repo.installation_id, "app_id": self.app.app_id}, {}

    def _mint(self, installation: int, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        owned = {n for n, r in self.repos.items() if r.installation_id == installation}
        if not owned:
            return 404, {"message": "Not Found"}, {}
        wanted = body.get("permissions") or dict(self.granted)
        if any(self.granted.get(k) not in (v, "write") for k, v in wanted.items()):
            return 422, {"message": "The permissions requested are not granted to this installation."}, {}
        names = body.get("repositories")
        repos = {n for n in owned if names is None or n.split("/")[1] in names}
        if names is not None and len(repos) != len(names):
            return (
                422,
                {"message": "There is at least one repository that does not exist or is not accessible"},
                {},
            )
        value = "ghs_" + secrets.token_urlsafe(24)
        self.tokens[value] = _Token(installation, frozenset(repos), dict(wanted))
        expires = (self.clock.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return 201, {"token": value, "expires_at": expires, "permissions": wanted}, {}

    def _token(self, auth: str, repo: str) -> _Token | tuple[int, Any, dict[str, str]]:
        value = auth.split(" ", 1)[-1].strip()
        token = self.tokens.get(value)
        if token is None:
            return 401, {"message": "Bad credentials"}, {}
        if repo not in token.repos or repo not in self.repos:
            return 403, {"message": "Resource not accessible by integration"}, {}
        return token

    @staticmethod
    def _writes(token: _Token) -> tuple[int, Any, dict[str, str]] | None:
        if token.permissions.get("actions") != "write":
            return 403, {"message": "Resource not accessible by integration"}, {}
        return None

    # workflows and runs ----------------------------------------------------------------------------
    def _dispatch(
        self, name: str, repo: FakeRepo, file: str, body: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        workflow = repo.workflows.get(file)
        if workflow is None:
            return 404, {"message": "Not Found"}, {}
        inputs = body.get("inputs") or {}
        unexpected = sorted(set(inputs) - workflow.inputs)
        if unexpected:
            return 422, {"message": f"Unexpected inputs provided: {unexpected}"}, {}
        run_id = next(self._ids)
        marker = inputs.get("spell_run", "") if workflow.run_name_has_marker else ""
        title = f"{file} {marker}".strip()
        self.runs[run_id] = _Run(
            run_id, name, file, title, dict(inputs), str(body.get("ref")), self.clock.now()
        )
        return 204, b"", {}

    def _list(self, name: str, file: str, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        since = (query.get("created") or [">=1970-01-01T00:00:00Z"])[0].removeprefix(">=")
        floor = datetime.fromisoformat(since.replace("Z", "+00:00"))
        shown = []
        for run in sorted(self.runs.values(), key=lambda r: -r.id):
            if run.repo != name or run.file != file or run.created_at < floor:
                continue
            run.listings += 1
            if run.listings > self.list_delay:
                shown.append(self._json(run))
        return 200, {"total_count": len(shown), "workflow_runs": shown}, {}

    def _read(self, name: str, run_id: int) -> tuple[int, Any, dict[str, str]]:
        run = self.runs.get(run_id)
        if run is None or run.repo != name:
            return 404, {"message": "Not Found"}, {}
        if run.status != "completed":
            run.reads += 1
            workflow = self.repos[name].workflows[run.file]
            if run.reads >= workflow.polls_to_complete:
                run.status, run.conclusion = "completed", workflow.conclusion
                self._upload(run, workflow)
            else:
                run.status = "in_progress"
        return 200, self._json(run), {}

    def _cancel(self, name: str, run_id: int) -> tuple[int, Any, dict[str, str]]:
        run = self.runs.get(run_id)
        if run is None or run.repo != name:
            return 404, {"message": "Not Found"}, {}
        if run.status == "completed":
            return 409, {"message": "Cannot cancel a workflow run that is completed."}, {}
        run.status, run.conclusion = "completed", "cancelled"
        self.canceled.append(run_id)
        return 202, {}, {}

    def _upload(self, run: _Run, workflow: FakeWorkflow) -> None:
        for artifact_name, data in workflow.artifacts.items():
            blob = next(self._ids)
            self._blobs[blob] = data
            run.artifacts.append((blob, artifact_name))

    def _artifacts(self, name: str, run_id: int) -> tuple[int, Any, dict[str, str]]:
        run = self.runs.get(run_id)
        if run is None or run.repo != name:
            return 404, {"message": "Not Found"}, {}
        listed = []
        expired = self.repos[name].workflows[run.file].expired
        for blob, artifact_name in run.artifacts:
            size = len(self._blobs[blob])
            gone = artifact_name in expired
            listed.append({"id": blob, "name": artifact_name, "size_in_bytes": size, "expired": gone})
        return 200, {"total_count": len(listed), "artifacts": listed}, {}

    def _json(self, run: _Run) -> dict[str, Any]:
        return {
            "id": run.id,
            "name": run.file,
            "display_title": run.title,
            "event": "workflow_dispatch",
            "status": run.status,
            "conclusion": run.conclusion,
            "head_branch": run.ref,
            "html_url": f"https://github.test/{run.repo}/actions/runs/{run.id}",
            "created_at": run.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, payload, extra = fake.answer(method, self.path, headers, body)
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", extra.pop("content-type", "application/json"))
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def running_fake_github(app: FakeApp, *, clock: Clock | None = None) -> Iterator[FakeGitHub]:
    """Serve a fake on a free local port for the duration of the generator (use as a fixture body)."""
    fake = FakeGitHub(app, clock=clock or SystemClock())
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
