"""A stand-in for an OpenID provider: its signing keys, the JWKS document it publishes, tokens it
issues, and a local JWKS endpoint whose document a test can change."""

from __future__ import annotations

import http.server
import json
import threading
import time
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
