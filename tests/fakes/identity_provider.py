"""A stand-in for an OpenID provider: its signing keys, the JWKS document it publishes, tokens it
issues, a local JWKS endpoint whose document a test can change, and its authorization and token
endpoints for the console's sign-in."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import secrets
import threading
import time
import urllib.parse
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

__all__ = [
    "AUDIENCE",
    "ISSUER",
    "KEYS",
    "OTHER_ISSUER",
    "ROLE_MAP",
    "JwksServer",
    "OidcProvider",
    "jwks",
    "jwks_of",
    "signed_token",
]

ISSUER = "https://id.example.com"
OTHER_ISSUER = "https://other-id.example.net"
# The operator lets ISSUER's tokens make makers, auditors and (under its own name) operators.
ROLE_MAP = {ISSUER: {"maker": "maker", "auditor": "auditor", "spell-ops": "operator"}}
AUDIENCE = "spell-api"
KEYS: dict[str, Any] = {
    "EdDSA": ed25519.Ed25519PrivateKey.generate(),
    "ES256": ec.generate_private_key(ec.SECP256R1()),
    "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
}


def jwks() -> dict[str, Any]:
    """The provider's JWKS: one public key per algorithm, its ``kid`` the algorithm in lower case."""
    algorithms = pyjwt.algorithms.get_default_algorithms()
    keys = []
    for alg, private in KEYS.items():
        jwk = algorithms[alg].to_jwk(private.public_key(), as_dict=True)
        keys.append({**jwk, "kid": alg.lower(), "alg": alg})
    return {"keys": keys}


def jwks_of(*algs: str) -> dict[str, Any]:
    """The JWKS with the keys of ``algs`` only."""
    return {"keys": [key for key in jwks()["keys"] if key["alg"] in algs]}


def signed_token(alg: str = "EdDSA", **overrides: Any) -> str:
    """A token of ISSUER for AUDIENCE, valid five minutes; a claim overridden with None is left out."""
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "exp": int(time.time()) + 300,
        "roles": ["maker", "admin"],
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return pyjwt.encode(claims, KEYS[alg], algorithm=alg, headers={"kid": alg.lower()})


class JwksServer:
    """A JWKS endpoint on localhost whose document the test changes (None: 503), counting fetches."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document: dict[str, Any] | None = document
        self.fetches = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.fetches += 1
                if outer.document is None:
                    self.send_response(503)
                    self.end_headers()
                    return
                body = json.dumps(outer.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcProvider:
    """An OpenID provider's browser side on localhost: discovery, ``/authorize`` (signs ``subject`` in at
    once and sends the browser back with a code) and ``/token`` (checks the code, the redirect URI and
    the PKCE verifier, then issues an ID token of ISSUER for the client). ``nonce_override`` makes it
    put another nonce in the token."""

    def __init__(
        self, *, client_id: str = "spell-console", subject: str = "user-1", roles: list[str] | None = None
    ) -> None:
        self.client_id = client_id
        self.subject = subject
        self.roles = ["maker"] if roles is None else roles
        self.nonce_override: str | None = None
        self.codes: dict[str, dict[str, str]] = {}
        self.token_requests: list[dict[str, str]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parts.query))
                if parts.path == "/.well-known/openid-configuration":
                    self._json(
                        200,
                        {
                            "issuer": ISSUER,
                            "authorization_endpoint": f"{outer.url}/authorize",
                            "token_endpoint": f"{outer.url}/token",
                        },
                    )
                    return
                if parts.path != "/authorize" or query.get("client_id") != outer.client_id:
                    self._json(400, {"error": "invalid_request"})
                    return
                if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
                    self._json(400, {"error": "invalid_request", "error_description": "PKCE S256 required"})
                    return
                code = secrets.token_urlsafe(16)
                outer.codes[code] = {
                    "challenge": query["code_challenge"],
                    "redirect_uri": query.get("redirect_uri", ""),
                    "nonce": query.get("nonce", ""),
                }
                back = urllib.parse.urlencode({"code": code, "state": query.get("state", "")})
                self.send_response(302)
                self.send_header("Location", f"{query.get('redirect_uri', '')}?{back}")
                self.end_headers()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                outer.token_requests.append(form)
                grant = outer.codes.pop(form.get("code", ""), None)
                if (
                    self.path != "/token"
                    or grant is None
                    or form.get("client_id") != outer.client_id
                    or form.get("redirect_uri") != grant["redirect_uri"]
                    or _s256(form.get("code_verifier", "")) != grant["challenge"]
                ):
                    self._json(400, {"error": "invalid_grant"})
                    return
                nonce = outer.nonce_override if outer.nonce_override is not None else grant["nonce"]
                id_token = signed_token(
                    aud=outer.client_id, sub=outer.subject, nonce=nonce, roles=outer.roles
                )
                self._json(200, {"id_token": id_token, "access_token": "opaque", "token_type": "Bearer"})

            def _json(self, status: int, document: dict[str, Any]) -> None:
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
