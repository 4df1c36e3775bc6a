"""Signing in through an OpenID provider: the authorization code flow with PKCE (RFC 7636).

The browser is sent to the provider with a random ``state``, ``nonce`` and the S256 challenge of a
random verifier; the caller keeps those three (the console, in a signed cookie) and, when the provider
sends the browser back with a code, checks ``state`` and exchanges code + verifier for tokens. The ID
token is verified by the same ``JwtVerifier`` as REST bearer tokens (keys, issuers, algorithms,
role map), with this client as its audience, and must carry the nonce: then it maps to the same user,
tenant and roles a bearer token of that subject gets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import httpx

from spell.errors import AuthError, InvalidInput
from spell.platform.auth.errors import CsrfRefused
from spell.platform.auth.jwt import JwtVerifier
from spell.platform.auth.schemas import Principal
from spell.platform.auth.service import AuthService
from spell.storage.session import Database

__all__ = ["OidcClient", "OidcStart"]


@dataclass(frozen=True)
class OidcStart:
    """Where to send the browser, and what to keep until it comes back."""

    url: str
    state: str
    nonce: str
    verifier: str


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class OidcClient:
    """One provider: its endpoints, this client's credentials, and the verifier of its tokens."""

    client_id: str
    authorize_url: str
    token_url: str
    verifier: JwtVerifier
    client_secret: str | None = None
    timeout_s: float = 10.0

    @classmethod
    def discover(
        cls,
        issuer: str,
        client_id: str,
        verifier: JwtVerifier,
        *,
        client_secret: str | None = None,
        authorize_url: str | None = None,
        token_url: str | None = None,
    ) -> OidcClient:
        """A client with the endpoints given, or those of the issuer's discovery document."""
        if authorize_url is None or token_url is None:
            found = _discovery(issuer)
            authorize_url = authorize_url or str(found.get("authorization_endpoint") or "")
            token_url = token_url or str(found.get("token_endpoint") or "")
            if not authorize_url or not token_url:
                raise InvalidInput(
                    f"the discovery document of {issuer} names no authorization or token endpoint"
                )
        return cls(client_id, authorize_url, token_url, verifier, client_secret)

    def start(self, redirect_uri: str) -> OidcStart:
        """A fresh authorization request."""
        state, nonce, verifier = (
            secrets.token_urlsafe(24),
            secrets.token_urlsafe(24),
            secrets.token_urlsafe(48),
        )
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": _challenge(verifier),
            "code_challenge_method": "S256",
        }
        separator = "&" if "?" in self.authorize_url else "?"
        return OidcStart(f"{self.authorize_url}{separator}{urlencode(query)}", state, nonce, verifier)

    def finish(
        self,
        db: Database,
        auth: AuthService,
        *,
        kept: OidcStart,
        state: str,
        code: str,
        redirect_uri: str,
    ) -> Principal:
        """Check ``state``, exchange ``code`` and return the principal of the verified ID token:
        ``CSRF_REFUSED`` for a state this browser did not start, ``UNAUTHORIZED`` for a refused
        exchange or token. Blocking (HTTP to the provider, then the database)."""
        if not hmac.compare_digest(kept.state.encode(), state.encode()):
            raise CsrfRefused("the sign-in came back with a state this browser did not start")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.client_id,
            "code_verifier": kept.verifier,
        }
        if self.client_secret:
            form["client_secret"] = self.client_secret
        try:
            answer = httpx.post(self.token_url, data=form, timeout=self.timeout_s)
            tokens: Any = answer.json() if answer.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            tokens = None
        id_token = tokens.get("id_token") if isinstance(tokens, dict) else None
        if not isinstance(id_token, str):
            raise AuthError("the identity provider refused the sign-in", hint="try signing in again")
        verifier = replace(self.verifier, audience=self.client_id)  # an ID token is addressed to the client
        claims = verifier.claims(id_token)
        if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), kept.nonce.encode()):
            raise AuthError("the ID token does not carry this sign-in's nonce")
        with db.unit_of_work() as uow:
            return verifier.authenticate(uow, auth, id_token)


def _discovery(issuer: str) -> dict[str, Any]:
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        answer = httpx.get(url, timeout=10)
        answer.raise_for_status()
        document: Any = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise InvalidInput(f"cannot read the OpenID discovery document at {url}: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidInput(f"the OpenID discovery document at {url} is not a JSON object")
    return document
