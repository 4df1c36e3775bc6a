"""How ``spell install server:…`` keeps a clone spell's licence: the issuer key is trusted only under a
``platform:`` name, and never replaces a key already trusted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spell.cli.commands._remote_install import _store_license
from spell.client.models import VersionArchive
from spell.config.home import SpellHome
from spell.errors import SpellError
from spell.signing.entitlement import EntitlementClaims, issue_token
from spell.signing.keys import public_key_to_b64url
from spell.signing.trust import TrustStore


def _archive(key: Ed25519PrivateKey, issuer: str = "platform:abc") -> VersionArchive:
    start = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    claims = EntitlementClaims(
        issuer=issuer,
        key_id="v1",
        mode="upfront",
        currency="USD",
        max_amount=1.0,
        not_before=start,
        expires_at="9999-12-31T23:59:59Z",
    )
    return VersionArchive(
        content=b"",
        digest=None,
        license=issue_token(claims, key),
        license_issuer=issuer,
        license_key=f"v1:{public_key_to_b64url(key.public_key())}",
    )


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SpellHome:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    return SpellHome.from_env()


def test_the_licence_is_stored_under_the_spell_and_its_issuer_trusted(home: SpellHome) -> None:
    trust = TrustStore(home.trust)
    stored = _store_license(_archive(Ed25519PrivateKey.generate()), "acme/clone", home, trust)
    assert stored == {"name": "acme/clone", "issuer": "platform:abc", "mode": "upfront"}
    issuer = trust.load("platform:abc")
    assert issuer is not None
    assert issuer.find("v1") is not None


def test_a_publisher_name_is_never_trusted_as_a_licence_issuer(home: SpellHome) -> None:
    trust = TrustStore(home.trust)
    with pytest.raises(SpellError) as refused:
        _store_license(_archive(Ed25519PrivateKey.generate(), issuer="acme"), "acme/clone", home, trust)
    assert refused.value.code == "VALIDATION_ERROR"
    assert trust.load("acme") is None


def test_a_trusted_issuer_key_is_not_replaced_by_the_servers_word(home: SpellHome) -> None:
    trust = TrustStore(home.trust)
    trust.add_key(
        "platform:abc", public_key_to_b64url(Ed25519PrivateKey.generate().public_key()), key_id="v1"
    )
    with pytest.raises(SpellError) as refused:
        _store_license(_archive(Ed25519PrivateKey.generate()), "acme/clone", home, trust)
    assert refused.value.code == "ENTITLEMENT_INVALID"
