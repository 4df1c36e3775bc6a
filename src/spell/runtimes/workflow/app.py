"""Installation tokens of the platform's GitHub App, one repository and two permissions at a time.

A cast never holds more than it needs: the token is minted for the one repository the caster named,
with ``actions: write`` (dispatch, cancel) and ``contents: read`` (read the workflow, download
artifacts), and GitHub expires it within the hour. The App proves itself with a JWT (RS256, the App's
private key) that lives ten minutes at most.

Which repositories a tenant may use is the operator's binding (``SPELL_GITHUB_INSTALLATIONS``), checked
before anything is asked of GitHub; GitHub is then asked which installation the repository has, so a
binding naming a repository the App is not installed on is refused too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import jwt

from spell.config.github import GitHubInstallation
from spell.errors import ForbiddenRepo
from spell.kit.clock import Clock, SystemClock
from spell.runtimes.workflow.github import Repo, request_failure, tls_context

__all__ = ["PERMISSIONS", "AppTokens", "TokenProvider"]

#: What a workflow cast's token may do, and nothing more.
PERMISSIONS: Mapping[str, str] = {"actions": "write", "contents": "read"}
_JWT_LIFETIME = timedelta(minutes=9)  # GitHub takes at most 10; the rest absorbs clock drift
_JWT_BACKDATE = timedelta(seconds=60)
_RENEW_BEFORE = timedelta(minutes=5)  # a token is not handed out for a cast with less left than this


class TokenProvider(Protocol):
    """Who may run workflows where, and the tokens to do it with."""

    def check(self, tenant_id: str | None, repo: Repo) -> None:
        """Return when ``tenant_id`` is bound to an installation allowing ``repo``; ``FORBIDDEN_REPO``
        otherwise. Asks nothing of GitHub."""
        ...

    def token_for(self, tenant_id: str | None, repo: Repo) -> str:
        """An installation token for ``repo`` alone, with ``PERMISSIONS``; ``FORBIDDEN_REPO`` when the
        tenant may not use it or the App is not installed there."""
        ...


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: datetime


#: ``(bearer) -> (method, path, json body) -> answer JSON``: the App's own calls, made with its JWT.
AppCall = Callable[[str], Callable[[str, str, Mapping[str, Any] | None], Any]]


class AppTokens:
    """``TokenProvider`` of one GitHub App: its id and private key, the operator's bindings, and the
    calls to GitHub (``app_call``; githubkit at ``api_url`` unless given)."""

    def __init__(
        self,
        app_id: int,
        private_key: str,
        installations: Mapping[str, GitHubInstallation],
        *,
        api_url: str = "https://api.github.com",
        app_call: AppCall | None = None,
        clock: Clock | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.app_id, self._key = app_id, private_key
        self.installations = installations
        self.clock = clock or SystemClock()
        self._call = app_call or _githubkit_call(api_url, timeout_s)
        self._tokens: dict[tuple[int, str], _Token] = {}
        self._lock = threading.Lock()

    def check(self, tenant_id: str | None, repo: Repo) -> None:
        """Return when the tenant's installation allows ``repo``; ``FORBIDDEN_REPO`` otherwise."""
        self._installation(tenant_id, repo)

    def token_for(self, tenant_id: str | None, repo: Repo) -> str:
        """A token for ``repo`` alone, reused while it has more than five minutes left."""
        installation = self._installation(tenant_id, repo)
        key = (installation.installation_id, repo.full_name.lower())
        now = self.clock.now()
        with self._lock:
            held = self._tokens.get(key)
        if held is not None and held.expires_at - now > _RENEW_BEFORE:
            return held.value
        token = self._mint(installation, repo)
        with self._lock:
            self._tokens[key] = token
        return token.value

    def app_jwt(self) -> str:
        """The App's JWT: issued by its id, backdated a minute, valid nine."""
        now = self.clock.now()
        claims = {
            "iat": int((now - _JWT_BACKDATE).timestamp()),
            "exp": int((now + _JWT_LIFETIME).timestamp()),
            "iss": str(self.app_id),
        }
        return jwt.encode(claims, self._key, algorithm="RS256")

    def _installation(self, tenant_id: str | None, repo: Repo) -> GitHubInstallation:
        installation = self.installations.get(tenant_id) if tenant_id is not None else None
        if installation is None or not installation.allows(repo.full_name):
            raise ForbiddenRepo(
                f"workflows in {repo.full_name} may not be run for this account",
                details={"repo": repo.full_name},
                hint="the operator binds repositories where the platform's GitHub App is installed",
            )
        return installation

    def _mint(self, installation: GitHubInstallation, repo: Repo) -> _Token:
        call = self._call(self.app_jwt())
        found = call("GET", f"/repos/{repo.owner}/{repo.name}/installation", None)
        if found is None or int(found.get("id", 0)) != installation.installation_id:
            raise ForbiddenRepo(
                f"the platform's GitHub App is not installed on {repo.full_name} for this account",
                details={"repo": repo.full_name},
                hint="install the App on the repository, then ask the operator to bind it",
            )
        answer = call(
            "POST",
            f"/app/installations/{installation.installation_id}/access_tokens",
            {"repositories": [repo.name], "permissions": dict(PERMISSIONS)},
        )
        if answer is None:  # the installation lacks the repository or a permission
            raise ForbiddenRepo(
                f"the App's installation does not grant {dict(PERMISSIONS)} on {repo.full_name}",
                details={"repo": repo.full_name, "permissions": dict(PERMISSIONS)},
                hint="accept the App's requested permissions in the installation's settings",
            )
        expires = datetime.fromisoformat(str(answer["expires_at"]).replace("Z", "+00:00"))
        return _Token(str(answer["token"]), expires.astimezone(UTC))


def _githubkit_call(api_url: str, timeout_s: float) -> AppCall:
    """Calls made with the App's JWT as a bearer; 404 and 422 answer None (what ``_mint`` refuses)."""

    def bearing(bearer: str) -> Callable[[str, str, Mapping[str, Any] | None], Any]:
        from githubkit import GitHub
        from githubkit.exception import GitHubException

        github: GitHub[Any] = GitHub(
            base_url=api_url,
            http_cache=False,
            auto_retry=False,
            timeout=timeout_s,
            trust_env=False,
            ssl_verify=tls_context(),
        )
        headers = {"Authorization": f"Bearer {bearer}"}

        def call(method: str, path: str, body: Mapping[str, Any] | None) -> Any:
            try:
                return github.request(method, path, json=body, headers=headers).json()
            except GitHubException as exc:
                status = getattr(getattr(exc, "response", None), "status_code", None)
                if status in (404, 422):
                    return None
                raise request_failure(exc, f"{method} {path}") from None

        return call

    return bearing
