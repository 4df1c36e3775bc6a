from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from spell.bundle.manifest import Billing
from spell.errors import SpellError
from spell.signing.licenses import LicenseStore, find_entitlement
from tests.bundle.spells import snapshot
from tests.signing.entitlements import NOW, make_token, trusted_issuer

BILLING = Billing(enabled=True, mode="upfront", currency="USD", max_amount=5)


def test_add_stores_a_verified_record_without_exposing_the_token(tmp_path: Path) -> None:
    trust, key = trusted_issuer(tmp_path / "trust")
    store = LicenseStore(tmp_path / "licenses")
    stored = store.add(" main ", make_token(key), trust=trust, now=NOW)
    assert stored.name == "main"
    record = json.loads(store.path_for("main").read_text())
    assert record["version"] == "v2"
    assert record["token_metadata"]["format"] == "ent1"
    assert record["entitlement"]["issuer"] == "billing"
    assert record["last_validated_at"] == "2026-06-01T12:00:00.000Z"
    assert stat.S_IMODE(store.path_for("main").stat().st_mode) == 0o600
    assert "token" not in stored.to_dict()
    later = store.add(
        "main", make_token(key, max_amount=20), trust=trust, now=datetime(2026, 7, 1, tzinfo=UTC)
    )
    assert later.created_at == stored.created_at
    assert later.claims.max_amount == 20


def test_a_token_that_does_not_verify_is_not_stored(tmp_path: Path) -> None:
    trust, key = trusted_issuer(tmp_path / "trust")
    store = LicenseStore(tmp_path / "licenses")
    trust.revoke_key("billing", "k1")
    with pytest.raises(SpellError) as exc:
        store.add("main", make_token(key), trust=trust, now=NOW)
    assert exc.value.code == "ENTITLEMENT_INVALID"
    assert snapshot(store.root) == {}


def test_revoke_restore_inspect_list_and_remove(tmp_path: Path) -> None:
    trust, key = trusted_issuer(tmp_path / "trust")
    store = LicenseStore(tmp_path / "licenses")
    store.add("b", make_token(key), trust=trust, now=NOW)
    store.add("a", make_token(key), trust=trust, now=NOW)
    (store.root / "junk.json").write_text("{}")
    assert [s.name for s in store.list()] == ["a", "b"]
    revoked = store.revoke("a", now=NOW, reason=" leaked ")
    assert (revoked.revoked, revoked.revoke_reason) == (True, "leaked")
    assert store.inspect("a").revoked
    assert not store.restore("a", now=NOW).revoked
    store.remove("a")
    assert [s.name for s in store.list()] == ["b"]
    for action in (lambda: store.inspect("a"), lambda: store.remove("a"), lambda: store.revoke("a", now=NOW)):
        with pytest.raises(SpellError) as exc:
            action()
        assert exc.value.code == "LICENSE_NOT_FOUND"
    with pytest.raises(SpellError) as blank:
        store.inspect("  ")
    assert blank.value.code == "VALIDATION_ERROR"


def test_a_hand_edited_record_is_refused_on_inspect(tmp_path: Path) -> None:
    trust, key = trusted_issuer(tmp_path / "trust")
    store = LicenseStore(tmp_path / "licenses")
    store.add("a", make_token(key), trust=trust, now=NOW)
    path = store.path_for("a")
    record = json.loads(path.read_text())
    record["entitlement"]["max_amount"] = 1_000_000
    path.write_text(json.dumps(record))
    with pytest.raises(SpellError) as claims:
        store.inspect("a")
    assert claims.value.code == "VALIDATION_ERROR"
    path.write_text("{nope")
    with pytest.raises(SpellError) as garbage:
        store.inspect("a")
    assert garbage.value.code == "VALIDATION_ERROR"


def test_find_entitlement_matches_mode_currency_amount_and_window(tmp_path: Path) -> None:
    trust, key = trusted_issuer(tmp_path / "trust")
    store = LicenseStore(tmp_path / "licenses")
    store.add("1-mode", make_token(key, mode="on_success"), trust=trust, now=NOW)
    store.add("2-currency", make_token(key, currency="EUR"), trust=trust, now=NOW)
    store.add("3-small", make_token(key, max_amount=1), trust=trust, now=NOW)
    with pytest.raises(SpellError) as none:
        find_entitlement(store, "acme/paid", billing=BILLING, trust=trust, now=NOW)
    assert none.value.code == "ENTITLEMENT_REQUIRED"
    store.add("4-good", make_token(key, currency="usd"), trust=trust, now=NOW)
    assert find_entitlement(store, "acme/paid", billing=BILLING, trust=trust, now=NOW).name == "4-good"
    with pytest.raises(SpellError) as expired:
        find_entitlement(
            store, "acme/paid", billing=BILLING, trust=trust, now=datetime(2027, 1, 1, tzinfo=UTC)
        )
    assert expired.value.code == "ENTITLEMENT_REQUIRED"


def test_find_entitlement_skips_revoked_licences_and_revoked_keys(tmp_path: Path) -> None:
    trust, key = trusted_issuer(tmp_path / "trust")
    store = LicenseStore(tmp_path / "licenses")
    store.add("main", make_token(key), trust=trust, now=NOW)
    store.revoke("main", now=NOW)
    with pytest.raises(SpellError) as revoked_licence:
        find_entitlement(store, "acme/paid", billing=BILLING, trust=trust, now=NOW)
    assert revoked_licence.value.code == "ENTITLEMENT_REQUIRED"
    store.restore("main", now=NOW)
    trust.revoke_key("billing", "k1")
    with pytest.raises(SpellError) as revoked_key:
        find_entitlement(store, "acme/paid", billing=BILLING, trust=trust, now=NOW)
    assert revoked_key.value.code == "ENTITLEMENT_REQUIRED"
