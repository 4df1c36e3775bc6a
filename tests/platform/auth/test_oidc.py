"""Signing in through an OpenID provider: the code flow with PKCE against the fake provider, the ID
token checked by the REST verifier (same user, tenant and roles as a bearer token of that subject),
and every broken round trip refused."""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Iterator

import httpx
import pytest

from spell.errors import AuthError, InvalidInput
from spell.platform.auth.errors import CsrfRefused
from spell.platform.auth.jwt import JwtVerifier
from spell.platform.auth.oidc import OidcClient, OidcStart
from spell.platform.server import Platform
from tests.fakes.identity_provider import AUDIENCE, ISSUER, ROLE_MAP, OidcProvider, jwks, signed_token

BACK = "http://console.test/sign-in/oidc/callback"


@pytest.fixture
def provider() -> Iterator[OidcProvider]:
    served = OidcProvider()
    yield served
    served.close()


@pytest.fixture
def verifier() -> JwtVerifier:
    return JwtVerifier.from_jwks(jwks(), issuers=(ISSUER,), audience=AUDIENCE, role_map=ROLE_MAP)


def _authorize(start: OidcStart) -> dict[str, str]:
    """What the browser does at the provider: follow the authorization URL back to the callback."""
    answer = httpx.get(start.url, follow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(answer.headers["location"]).query))


def test_the_code_flow_signs_in_the_user_a_bearer_token_of_that_subject_is(
    platform: Platform, provider: OidcProvider, verifier: JwtVerifier
) -> None:
    client = OidcClient.discover(provider.url, provider.client_id, verifier)
    start = client.start(BACK)
    assert "code_challenge_method=S256" in start.url
    assert start.verifier not in start.url
    back = _authorize(start)
    assert back["state"] == start.state
    principal = client.finish(
        platform.db, platform.auth, kept=start, state=back["state"], code=back["code"], redirect_uri=BACK
    )
    assert principal.roles == ("maker",)
    assert "spell:publish" in principal.scopes
    assert principal.key_id is None
    with platform.db.unit_of_work() as uow:
        bearer = verifier.authenticate(
            uow, platform.auth, signed_token(sub=provider.subject, roles=["maker"])
        )
    assert (bearer.user_id, bearer.tenant_id) == (principal.user_id, principal.tenant_id)
    assert provider.token_requests[0]["code_verifier"] == start.verifier


def test_a_state_this_browser_did_not_start_is_refused(
    platform: Platform, provider: OidcProvider, verifier: JwtVerifier
) -> None:
    client = OidcClient.discover(provider.url, provider.client_id, verifier)
    start = client.start(BACK)
    back = _authorize(start)
    with pytest.raises(CsrfRefused) as refused:
        client.finish(
            platform.db, platform.auth, kept=start, state="forged", code=back["code"], redirect_uri=BACK
        )
    assert refused.value.code == "CSRF_REFUSED"
    assert provider.token_requests == []  # refused before the code was spent


def test_a_code_redeemed_without_its_pkce_verifier_is_refused(
    platform: Platform, provider: OidcProvider, verifier: JwtVerifier
) -> None:
    client = OidcClient.discover(provider.url, provider.client_id, verifier)
    start = client.start(BACK)
    back = _authorize(start)
    stolen = dataclasses.replace(start, verifier="an-attacker-without-the-verifier")
    with pytest.raises(AuthError) as refused:
        client.finish(
            platform.db, platform.auth, kept=stolen, state=back["state"], code=back["code"], redirect_uri=BACK
        )
    assert refused.value.code == "UNAUTHORIZED"


def test_a_token_with_another_nonce_is_refused(
    platform: Platform, provider: OidcProvider, verifier: JwtVerifier
) -> None:
    provider.nonce_override = "replayed"
    client = OidcClient.discover(provider.url, provider.client_id, verifier)
    start = client.start(BACK)
    back = _authorize(start)
    with pytest.raises(AuthError) as refused:
        client.finish(
            platform.db, platform.auth, kept=start, state=back["state"], code=back["code"], redirect_uri=BACK
        )
    assert refused.value.code == "UNAUTHORIZED"


def test_a_code_works_once(platform: Platform, provider: OidcProvider, verifier: JwtVerifier) -> None:
    client = OidcClient.discover(provider.url, provider.client_id, verifier)
    start = client.start(BACK)
    back = _authorize(start)
    client.finish(
        platform.db, platform.auth, kept=start, state=back["state"], code=back["code"], redirect_uri=BACK
    )
    with pytest.raises(AuthError) as refused:
        client.finish(
            platform.db, platform.auth, kept=start, state=back["state"], code=back["code"], redirect_uri=BACK
        )
    assert refused.value.code == "UNAUTHORIZED"


def test_a_provider_without_discovery_is_a_configuration_error(verifier: JwtVerifier) -> None:
    with pytest.raises(InvalidInput) as refused:
        OidcClient.discover("http://127.0.0.1:9", "spell-console", verifier)
    assert refused.value.code == "VALIDATION_ERROR"
    explicit = OidcClient.discover(
        "http://127.0.0.1:9", "c", verifier, authorize_url="https://id.test/a", token_url="https://id.test/t"
    )
    assert explicit.start(BACK).url.startswith("https://id.test/a?")
