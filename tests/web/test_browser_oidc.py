"""Signing in to the console through the configured OpenID provider (the fake one), in a browser,
and the callback refusing round trips this browser did not start."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from spell.config.server import ServerSettings
from tests.client.live_server import LiveServer
from tests.fakes.identity_provider import AUDIENCE, ISSUER, ROLE_MAP, OidcProvider, jwks
from tests.fixtures.live import database_backend

__all__ = ["database_backend"]  # SQLite only: these tests drive pages, not storage


@pytest.fixture
def provider() -> Iterator[OidcProvider]:
    served = OidcProvider(roles=["maker"])
    yield served
    served.close()


@pytest.fixture
def server_settings(
    server_settings: ServerSettings, tmp_path: Path, provider: OidcProvider
) -> ServerSettings:
    """The test server, trusting the fake provider's tokens and offering it on the sign-in page."""
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(jwks()), encoding="utf-8")
    return dataclasses.replace(
        server_settings,
        jwks_file=keys,
        jwt_issuers=(ISSUER,),
        jwt_audience=AUDIENCE,
        jwt_role_map=ROLE_MAP,
        oidc_client_id=provider.client_id,
        oidc_issuer=provider.url,  # discovery: the provider names its endpoints
        oidc_name="Example ID",
    )


def test_a_person_signs_in_through_the_provider(live: LiveServer, page: Any, provider: OidcProvider) -> None:
    page.goto(f"{live.url}/casts")
    page.get_by_role("link", name="Sign in with Example ID").click()
    page.wait_for_url(f"{live.url}/casts")
    assert page.get_by_role("heading", name="Casts").is_visible()
    assert provider.token_requests[0]["code_verifier"]
    with live.platform.db.unit_of_work() as uow:
        user = live.platform.auth.repo.user_by_subject(uow, f"{ISSUER}|{provider.subject}")
        assert user is not None
        assert user.roles == ["maker"]


def test_a_callback_this_browser_did_not_start_is_refused(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url) as browser:
        answer = browser.get("/sign-in/oidc/callback?state=x&code=y")
        assert (answer.status_code, answer.headers["x-spell-error"]) == (403, "CSRF_REFUSED")
        started = browser.get("/sign-in/oidc?next=/casts")
        assert started.status_code == 303
        forged = browser.get("/sign-in/oidc/callback?state=forged&code=y")
        assert (forged.status_code, forged.headers["x-spell-error"]) == (403, "CSRF_REFUSED")
        denied = browser.get("/sign-in/oidc/callback?error=access_denied")
        assert denied.status_code == 401
        assert "did not sign you in" in denied.text
    assert "spell_session" not in browser.cookies
