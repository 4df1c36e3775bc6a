"""The JWT verifier: a JWKS needs issuers and an audience, unknown key ids refetch the JWKS at most once
per interval, a provider outage keeps the keys, and role maps name only trusted issuers and known roles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from spell.errors import AuthError, InvalidInput
from spell.kit.clock import FakeClock
from spell.kit.time import utcnow
from spell.platform.auth.jwt import JwtVerifier
from tests.fakes.identity_provider import AUDIENCE, ISSUER, JwksServer, jwks, jwks_of, signed_token


def test_a_jwks_needs_issuers_and_audience(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        JwtVerifier.from_jwks(jwks(), issuers=(), audience=AUDIENCE)
    with pytest.raises(InvalidInput):
        JwtVerifier.from_jwks(jwks(), issuers=(ISSUER,), audience=AUDIENCE, algorithms=("HS256",))
    with pytest.raises(InvalidInput):
        JwtVerifier.from_jwks({"keys": "nope"}, issuers=(ISSUER,), audience=AUDIENCE)
    with pytest.raises(InvalidInput):
        JwtVerifier.from_file(tmp_path / "missing.json", issuers=(ISSUER,), audience=AUDIENCE)
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks()), encoding="utf-8")
    assert set(JwtVerifier.from_file(path, issuers=(ISSUER,), audience=AUDIENCE).keys) == {
        "eddsa",
        "es256",
        "rs256",
    }


def test_unknown_key_ids_refetch_at_most_once_per_interval_and_failures_keep_the_keys() -> None:
    served = JwksServer(jwks_of("EdDSA"))
    clock = FakeClock(utcnow())
    later = int(clock.now().timestamp()) + 3600  # every token here outlives the clock's moves
    try:

        def fetch() -> dict[str, Any]:
            return httpx.get(served.url, timeout=5).raise_for_status().json()  # type: ignore[no-any-return]

        verifier = JwtVerifier.from_jwks(
            fetch(), issuers=(ISSUER,), audience=AUDIENCE, fetch=fetch, clock=clock
        )
        for _ in range(5):  # a flood of tokens with an unknown kid: no refetch within the interval
            with pytest.raises(AuthError):
                verifier.claims(signed_token("RS256", exp=later))
        assert served.fetches == 1
        clock.advance(verifier.min_refresh_s)
        with pytest.raises(AuthError):
            verifier.claims(signed_token("RS256", exp=later))
        assert served.fetches == 2  # once the interval passed, the unknown kid fetched the keys again
        served.document = None  # the provider is down
        assert verifier.refresh() is False
        assert verifier.claims(signed_token("EdDSA", exp=later))["sub"] == "user-1"  # the old keys still work
        served.document = jwks_of("ES256")  # the provider withdrew the EdDSA key
        clock.advance(verifier.max_age_s)
        assert (
            verifier.claims(signed_token("EdDSA", exp=later))["sub"] == "user-1"
        )  # not older than the max age
        clock.advance(0.001)
        with pytest.raises(AuthError):
            verifier.claims(signed_token("EdDSA", exp=later))
        assert verifier.claims(signed_token("ES256", exp=later))["sub"] == "user-1"
    finally:
        served.close()


def test_token_times_are_read_on_the_verifiers_clock() -> None:
    clock = FakeClock(utcnow())
    verifier = JwtVerifier.from_jwks(jwks(), issuers=(ISSUER,), audience=AUDIENCE, clock=clock)
    now = int(clock.now().timestamp())
    token = signed_token(exp=now + 60, nbf=now + 10, iat=now + 5)
    with pytest.raises(AuthError) as early:
        verifier.claims(token)
    assert early.value.code == "UNAUTHORIZED"
    clock.advance(10)
    assert verifier.claims(token)["sub"] == "user-1"
    clock.advance(49)
    assert verifier.claims(token)["sub"] == "user-1"
    clock.advance(1)
    with pytest.raises(AuthError) as late:
        verifier.claims(token)
    assert late.value.code == "UNAUTHORIZED"


@pytest.mark.parametrize("claims", [{"exp": "soon"}, {"nbf": "now"}, {"iat": "now"}])
def test_time_claims_that_are_not_integers_are_refused(claims: dict[str, Any]) -> None:
    verifier = JwtVerifier.from_jwks(jwks(), issuers=(ISSUER,), audience=AUDIENCE)
    with pytest.raises(AuthError) as refused:
        verifier.claims(signed_token(**claims))
    assert refused.value.code == "UNAUTHORIZED"


def test_a_role_map_naming_an_untrusted_issuer_or_an_unknown_role_is_refused() -> None:
    for role_map in ({"https://stranger.example": {"a": "maker"}}, {ISSUER: {"a": "superuser"}}):
        with pytest.raises(InvalidInput):
            JwtVerifier.from_jwks(jwks(), issuers=(ISSUER,), audience=AUDIENCE, role_map=role_map)
