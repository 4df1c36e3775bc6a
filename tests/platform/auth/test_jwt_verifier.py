"""The JWT verifier: a JWKS needs issuers and an audience, unknown key ids refetch the JWKS at most once
per interval, a provider outage keeps the keys, and role maps name only trusted issuers and known roles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from spell.errors import AuthError, InvalidInput
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
    try:

        def fetch() -> dict[str, Any]:
            return httpx.get(served.url, timeout=5).raise_for_status().json()  # type: ignore[no-any-return]

        verifier = JwtVerifier.from_jwks(fetch(), issuers=(ISSUER,), audience=AUDIENCE, fetch=fetch)
        object.__setattr__(verifier, "min_refresh_s", 60.0)
        for _ in range(5):  # a flood of tokens with an unknown kid: no refetch within the interval
            with pytest.raises(AuthError):
                verifier.claims(signed_token("RS256"))
        assert served.fetches == 1
        served.document = None  # the provider is down
        assert verifier.refresh() is False
        assert verifier.claims(signed_token("EdDSA"))["sub"] == "user-1"  # the old keys still work
        served.document = jwks_of("ES256")  # the provider withdrew the EdDSA key
        object.__setattr__(verifier, "max_age_s", 0.0)
        with pytest.raises(AuthError):
            verifier.claims(signed_token("EdDSA"))
        assert verifier.claims(signed_token("ES256"))["sub"] == "user-1"
    finally:
        served.close()


def test_a_role_map_naming_an_untrusted_issuer_or_an_unknown_role_is_refused() -> None:
    for role_map in ({"https://stranger.example": {"a": "maker"}}, {ISSUER: {"a": "superuser"}}):
        with pytest.raises(InvalidInput):
            JwtVerifier.from_jwks(jwks(), issuers=(ISSUER,), audience=AUDIENCE, role_map=role_map)
