"""Make entitlement tokens signed by a key the test trust store trusts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spell.kit.encoding import b64url_encode
from spell.signing.keys import public_key_to_b64url
from spell.signing.trust import TrustStore

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def trusted_issuer(
    root: Path, issuer: str = "billing", key_id: str = "k1"
) -> tuple[TrustStore, Ed25519PrivateKey]:
    """A trust store at ``root`` trusting a fresh key of ``issuer``."""
    key = Ed25519PrivateKey.generate()
    trust = TrustStore(root)
    trust.add_key(issuer, public_key_to_b64url(key.public_key()), key_id=key_id)
    return trust, key


def make_token(key: Ed25519PrivateKey, **claims: Any) -> str:
    """``ent1.<payload>.<sig>`` with default claims (valid around ``NOW``) overridden by ``claims``."""
    payload: dict[str, Any] = {
        "version": "v1",
        "issuer": "billing",
        "key_id": "k1",
        "mode": "upfront",
        "currency": "USD",
        "max_amount": 10,
        "not_before": "2026-01-01T00:00:00Z",
        "expires_at": "2026-12-31T23:59:59.999Z",
    }
    payload.update(claims)
    segment = b64url_encode(json.dumps(payload).encode())
    return f"ent1.{segment}.{b64url_encode(key.sign(segment.encode('ascii')))}"
