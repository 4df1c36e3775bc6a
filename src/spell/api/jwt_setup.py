"""Build the JWT verifier from settings at start-up (a JWKS file, or a URL fetched then kept fresh)."""

from __future__ import annotations

from typing import Any

import httpx

from spell.config.server import ServerSettings
from spell.errors import InvalidInput
from spell.platform.auth.jwt import JwtVerifier

__all__ = ["jwt_verifier"]


def jwt_verifier(settings: ServerSettings) -> JwtVerifier | None:
    """The verifier, or None when no JWKS is configured (API keys only)."""
    if settings.jwks_file is None and settings.jwks_url is None:
        return None
    if not settings.jwt_issuers or not settings.jwt_audience:
        raise InvalidInput(
            "JWT auth needs SPELL_SERVER_JWT_ISSUERS and SPELL_SERVER_JWT_AUDIENCE with the JWKS",
        )
    options: dict[str, Any] = {
        "issuers": settings.jwt_issuers,
        "audience": settings.jwt_audience,
        "algorithms": settings.jwt_algorithms,
        "role_map": settings.jwt_role_map,
    }
    if settings.jwks_file is not None:
        return JwtVerifier.from_file(settings.jwks_file, **options)
    assert settings.jwks_url is not None  # noqa: S101 - checked above
    url = settings.jwks_url

    def fetch() -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=10)
            response.raise_for_status()
            jwks: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise InvalidInput(f"cannot fetch the JWKS from {url}: {exc}") from exc
        return jwks

    return JwtVerifier.from_jwks(fetch(), fetch=fetch, **options)
