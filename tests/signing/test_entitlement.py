from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spell.errors import SpellError
from spell.kit.encoding import b64url_encode
from spell.signing.entitlement import EntitlementClaims, issue_token, parse_token, verify_token
from tests.signing.entitlements import NOW, make_token, trusted_issuer


def _code(token: str, trust_root: Path, now: datetime = NOW) -> str:
    trust, _ = trusted_issuer(trust_root)
    with pytest.raises(SpellError) as exc:
        verify_token(token, trust, now=now)
    return exc.value.code


def test_a_token_signed_by_an_active_trusted_key_verifies(tmp_path: Path) -> None:
    trust, key = trusted_issuer(tmp_path)
    parsed = verify_token(f"  {make_token(key)} \n", trust, now=NOW)
    assert parsed.claims.issuer == "billing"
    assert parsed.claims.max_amount == 10
    assert parsed.metadata()["format"] == "ent1"


def test_a_token_signed_by_a_revoked_trust_key_is_refused(tmp_path: Path) -> None:
    trust, key = trusted_issuer(tmp_path)
    token = make_token(key)
    trust.revoke_key("billing", "k1", reason="leaked")
    with pytest.raises(SpellError) as exc:
        verify_token(token, trust, now=NOW)
    assert exc.value.code == "ENTITLEMENT_INVALID"
    trust.restore_key("billing", "k1")
    verify_token(token, trust, now=NOW)


def test_untrusted_issuers_unknown_keys_and_bad_signatures_are_refused(tmp_path: Path) -> None:
    trust, key = trusted_issuer(tmp_path / "trust")
    for token in (
        make_token(key, issuer="stranger"),
        make_token(key, key_id="k9"),
        make_token(Ed25519PrivateKey.generate()),
    ):
        with pytest.raises(SpellError) as exc:
            verify_token(token, trust, now=NOW)
        assert exc.value.code == "ENTITLEMENT_INVALID"
    head, payload, _sig = make_token(key).split(".")
    other = make_token(key, max_amount=1000).split(".")[2]
    with pytest.raises(SpellError) as swapped:
        verify_token(f"{head}.{payload}.{other}", trust, now=NOW)
    assert swapped.value.code == "ENTITLEMENT_INVALID"


def test_tokens_outside_their_window_are_refused(tmp_path: Path) -> None:
    trust, key = trusted_issuer(tmp_path)
    token = make_token(key)
    for now in (datetime(2025, 12, 31, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)):
        with pytest.raises(SpellError) as exc:
            verify_token(token, trust, now=now)
        assert exc.value.code == "ENTITLEMENT_INVALID"


def _payload(**claims: Any) -> str:
    base: dict[str, Any] = {
        "version": "v1",
        "issuer": "b",
        "key_id": "k",
        "mode": "upfront",
        "currency": "USD",
        "max_amount": 1,
        "not_before": "2026-01-01T00:00:00Z",
        "expires_at": "2026-02-01T00:00:00+09:00",
    }
    base.update(claims)
    return (
        "ent1."
        + b64url_encode(json.dumps({k: v for k, v in base.items() if v is not None}).encode())
        + ".c2ln"
    )


@pytest.mark.parametrize(
    "token",
    [
        "ent2.e30.c2ln",
        "ent1.e30",
        "ent1.e30.c2ln.x",
        "ent1.e+0.c2ln",
        "ent1." + b64url_encode(b"not json") + ".c2ln",
        "ent1." + b64url_encode(b"[]") + ".c2ln",
        _payload(version="v2"),
        _payload(mode="monthly"),
        _payload(max_amount=-1),
        _payload(max_amount="10"),
        _payload(max_amount=True),
        _payload(issuer=" "),
        _payload(currency=None),
        _payload(not_before="yesterday"),
        _payload(expires_at="2026-13-45T00:00:00Z"),
        _payload(not_before="2026-03-01T00:00:00Z"),
        "ent1." + "A" * 20000 + ".c2ln",
    ],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(SpellError) as exc:
        parse_token(token)
    assert exc.value.code == "ENTITLEMENT_INVALID"


def test_an_empty_token_is_invalid_input() -> None:
    with pytest.raises(SpellError) as exc:
        parse_token("   ")
    assert exc.value.code == "VALIDATION_ERROR"


def test_long_fractions_and_offsets_in_timestamps_are_accepted() -> None:
    parsed = parse_token(_payload(not_before="2026-01-01T00:00:00.123456789Z"))
    start, end = parsed.claims.window
    assert start < end
    assert end == datetime(2026, 1, 31, 15, 0, tzinfo=UTC)


def test_an_issued_token_verifies_and_carries_its_claims_but_not_for_another_key(tmp_path: Path) -> None:
    trust, key = trusted_issuer(tmp_path / "trust", issuer="platform:abc", key_id="v1")
    claims = EntitlementClaims(
        issuer="platform:abc",
        key_id="v1",
        mode="upfront",
        currency="USD",
        max_amount=0.4,
        not_before="2026-01-01T00:00:00Z",
        expires_at="9999-12-31T23:59:59Z",
    )
    token = issue_token(claims, key)
    assert verify_token(token, trust, now=NOW).claims == claims
    with pytest.raises(SpellError) as refused:
        verify_token(issue_token(claims, Ed25519PrivateKey.generate()), trust, now=NOW)
    assert refused.value.code == "ENTITLEMENT_INVALID"


def test_claims_that_would_not_parse_back_are_never_issued() -> None:
    bad = EntitlementClaims(
        issuer="platform:abc",
        key_id="v1",
        mode="upfront",
        currency="USD",
        max_amount=-1,
        not_before="2026-01-01T00:00:00Z",
        expires_at="9999-12-31T23:59:59Z",
    )
    with pytest.raises(SpellError) as refused:
        issue_token(bad, Ed25519PrivateKey.generate())
    assert refused.value.code == "ENTITLEMENT_INVALID"
