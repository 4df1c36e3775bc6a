from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from spell.errors import InvalidInput, InvalidTrustFile, KeyNotFound, PublisherNotFound
from spell.kit.encoding import b64url_decode
from spell.signing.trust import TrustedKey, TrustStore
from tests.bundle.factories import compat_expected

KEY = compat_expected()["public_key_base64url"]


def _store(tmp_path: Path) -> TrustStore:
    return TrustStore(tmp_path / "trust" / "publishers")


def test_trust_file_name_and_format_match_spell_runtime(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.add_key("compat", f"  {KEY}\n", key_id="k1")
    path = store.path_for("compat")
    assert path.name == compat_expected()["trust_file_name"]
    expected = {
        "version": "v1",
        "publisher": "compat",
        "keys": [{"key_id": "k1", "algorithm": "ed25519", "public_key": KEY, "revoked": False}],
    }
    assert path.read_text() == json.dumps(expected, indent=2) + "\n"


def test_key_lifecycle_active_revoked_restored_removed(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.add_key("compat", KEY, key_id="k2")
    store.add_key("compat", KEY, key_id="k1")
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    revoked = store.revoke_key("compat", "k1", reason=" lost laptop ", now=moment)
    assert (revoked.status, revoked.revoked_at, revoked.revoke_reason) == (
        "revoked",
        "2026-01-02T03:04:05.000Z",
        "lost laptop",
    )
    assert [k.key_id for k in store.get("compat").keys] == ["k1", "k2"]
    assert store.get("compat").keys[0].to_dict()["revoke_reason"] == "lost laptop"
    assert store.restore_key("compat", "k1").status == "active"
    assert store.get("compat").keys[0].to_dict() == {
        "key_id": "k1",
        "algorithm": "ed25519",
        "public_key": KEY,
        "revoked": False,
    }
    store.remove_key("compat", "k1")
    assert [k.key_id for k in store.get("compat").keys] == ["k2"]
    store.remove_key("compat", "k2")
    assert store.load("compat") is None


def test_list_orders_publishers_and_remove_forgets_them(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert store.list_publishers() == []
    for name in ("beta", "Alpha", "_under"):
        store.add_key(name, KEY)
    assert [p.publisher for p in store.list_publishers()] == ["_under", "Alpha", "beta"]
    store.remove("beta")
    assert [p.publisher for p in store.list_publishers()] == ["_under", "Alpha"]


def test_fingerprint_is_short_sha256_of_der() -> None:
    full = hashlib.sha256(b64url_decode(KEY)).hexdigest()
    assert TrustedKey("k1", KEY).fingerprint == f"{full[:12]}...{full[-8:]}"


def test_unknown_publisher_and_key_are_not_found(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with pytest.raises(PublisherNotFound):
        store.remove("ghost")
    with pytest.raises(PublisherNotFound):
        store.revoke_key("ghost", "k1")
    store.add_key("compat", KEY, key_id="k1")
    with pytest.raises(KeyNotFound) as caught:
        store.restore_key("compat", "nope")
    assert caught.value.code == "KEY_NOT_FOUND"
    with pytest.raises(KeyNotFound):
        store.remove_key("compat", "nope")


@pytest.mark.parametrize("bad", ["", "not base64url!", "AAAA"])
def test_adding_a_bad_public_key_is_refused_and_nothing_written(tmp_path: Path, bad: str) -> None:
    store = _store(tmp_path)
    with pytest.raises(InvalidInput):
        store.add_key("compat", bad)
    assert not store.root.exists()


def _entry(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {"key_id": "k1", "algorithm": "ed25519", "public_key": KEY, "revoked": False}
    base.update(changes)
    return base


NONSENSE = {
    "not-json": "{{{",
    "array": "[]",
    "bad-version": json.dumps({"version": "v9", "publisher": "compat", "keys": [_entry()]}),
    "other-publisher": json.dumps({"version": "v1", "publisher": "evil", "keys": [_entry()]}),
    "no-keys": json.dumps({"version": "v1", "publisher": "compat", "keys": []}),
    "key-not-object": json.dumps({"version": "v1", "publisher": "compat", "keys": ["k1"]}),
    "missing-key-id": json.dumps({"version": "v1", "publisher": "compat", "keys": [_entry(key_id="")]}),
    "rsa": json.dumps({"version": "v1", "publisher": "compat", "keys": [_entry(algorithm="rsa")]}),
    "bad-b64": json.dumps({"version": "v1", "publisher": "compat", "keys": [_entry(public_key="a+b/")]}),
    "revoked-not-bool": json.dumps({"version": "v1", "publisher": "compat", "keys": [_entry(revoked="yes")]}),
    "bad-revoked-at": json.dumps(
        {"version": "v1", "publisher": "compat", "keys": [_entry(revoked=True, revoked_at="yesterday")]}
    ),
    "duplicate": json.dumps({"version": "v1", "publisher": "compat", "keys": [_entry(), _entry()]}),
    "binary": "",
}


@pytest.mark.parametrize("name", sorted(NONSENSE))
def test_hand_edited_nonsense_trust_file_names_the_file(tmp_path: Path, name: str) -> None:
    store = _store(tmp_path)
    store.root.mkdir(parents=True)
    path = store.path_for("compat")
    if name == "binary":
        path.write_bytes(b"\xff\xfe\x00")
    else:
        path.write_text(NONSENSE[name])
    with pytest.raises(InvalidTrustFile) as caught:
        store.load("compat")
    assert caught.value.code == "INVALID_TRUST_FILE"
    assert caught.value.details["file"] == str(path)
    assert str(path) in caught.value.message
    with pytest.raises(InvalidTrustFile):
        store.list_publishers()


def test_revoked_key_without_timestamp_is_accepted(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.root.mkdir(parents=True)
    store.path_for("compat").write_text(
        json.dumps({"version": "v1", "publisher": "compat", "keys": [_entry(revoked=True)]})
    )
    key = store.get("compat").keys[0]
    assert (key.status, key.revoked_at) == ("revoked", None)
