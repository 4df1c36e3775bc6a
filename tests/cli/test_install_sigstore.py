"""`spell trust add --sigstore-*` and `spell install` checking spell.sigstore.json, all offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spell.errors import InvalidTrustFile
from spell.signing.sigstore import SIGSTORE_FILE, SigstorePolicy, SigstoreTrust, SigstoreTrustEntry
from tests.bundle.factories import compat_expected, copy_compat_bundle
from tests.bundle.spells import snapshot, write_spell
from tests.cli.remote_world import new_maker, private_homes, publish
from tests.cli.run_cli import run_cli
from tests.client.live_server import LiveServer
from tests.fixtures.live import database_backend, live

__all__ = ["database_backend", "live", "private_homes"]

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "sigstore"
STAGING = ASSETS / "staging-trusted-root.json"
IDENTITY = "https://github.com/acme/hello/.github/workflows/release.yml@refs/tags/v1.0.0"
ISSUER = "https://token.actions.githubusercontent.com"


@pytest.fixture
def home(private_homes: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("SPELL_REGISTRY_REQUIRED_PINS", raising=False)
    return private_homes / "spell-home"


def _trust_acme(*extra: str) -> dict[str, object]:
    key = compat_expected()["public_key_base64url"]
    result = run_cli("trust", "add", "acme", key, *extra, "--json")
    assert result.exit_code == 0, result.stderr
    data: dict[str, object] = result.json()
    return data


def _with_foreign_sigstore_bundle(bundle: Path) -> Path:
    # A real bundle, but over another artifact than this spell's digest.
    (bundle / SIGSTORE_FILE).write_bytes((ASSETS / "bundle.txt.sigstore").read_bytes())
    return bundle


def test_trust_add_records_the_sigstore_policy(home: Path) -> None:
    data = _trust_acme(
        "--sigstore-identity", IDENTITY, "--sigstore-issuer", ISSUER, "--sigstore-trusted-root", str(STAGING)
    )
    root = str(STAGING.resolve())
    assert data["sigstore"] == {
        "identity": IDENTITY,
        "issuer": ISSUER,
        "trusted_root": root,
        "required": False,
    }
    entry = SigstoreTrust(home / "trust" / "sigstore").load("acme")
    assert entry == SigstoreTrustEntry(SigstorePolicy(IDENTITY, ISSUER), STAGING.resolve())


def test_trust_add_needs_all_sigstore_options_together(home: Path) -> None:
    key = compat_expected()["public_key_base64url"]
    result = run_cli("trust", "add", "acme", key, "--sigstore-identity", IDENTITY)
    assert result.exit_code != 0
    assert "go together" in result.stderr
    assert not (home / "trust").exists()


def test_trust_add_refuses_a_missing_trusted_root(home: Path, tmp_path: Path) -> None:
    result = run_cli(
        "trust", "add", "acme", compat_expected()["public_key_base64url"],
        "--sigstore-identity", IDENTITY, "--sigstore-issuer", ISSUER,
        "--sigstore-trusted-root", str(tmp_path / "missing.json"), "--json",
    )  # fmt: skip
    assert result.exit_code != 0
    assert result.error()["code"] == "SIGSTORE_INVALID"


def test_install_refuses_a_sigstore_bundle_that_does_not_verify(home: Path, tmp_path: Path) -> None:
    _trust_acme(
        "--sigstore-identity", IDENTITY, "--sigstore-issuer", ISSUER, "--sigstore-trusted-root", str(STAGING)
    )
    bundle = _with_foreign_sigstore_bundle(write_spell(tmp_path / "b"))
    before = snapshot(home)
    result = run_cli("install", str(bundle), "--json")
    assert result.exit_code != 0
    error = result.error()
    assert error["code"] == "SIGSTORE_INVALID"
    assert error["message"].startswith("sigstore verification failed")
    assert snapshot(home) == before


def test_a_required_sigstore_bundle_refuses_an_install_without_one(home: Path, tmp_path: Path) -> None:
    _trust_acme(
        "--sigstore-identity", IDENTITY, "--sigstore-issuer", ISSUER, "--sigstore-trusted-root", str(STAGING),
        "--sigstore-required",
    )  # fmt: skip
    assert SigstoreTrust(home / "trust" / "sigstore").load("acme") == SigstoreTrustEntry(
        SigstorePolicy(IDENTITY, ISSUER), STAGING.resolve(), required=True
    )
    before = snapshot(home)
    result = run_cli("install", str(write_spell(tmp_path / "b")), "--json")
    assert result.exit_code != 0
    error = result.error()
    assert (error["code"], error["message"]) == (
        "SIGNATURE_MISSING",
        "sigstore bundle required: spell.sigstore.json not found",
    )
    assert snapshot(home) == before


def test_sigstore_required_alone_is_a_usage_error(home: Path) -> None:
    result = run_cli("trust", "add", "acme", compat_expected()["public_key_base64url"], "--sigstore-required")
    assert result.exit_code != 0
    assert "go together" in result.stderr


def test_install_without_a_trusted_sigstore_identity_does_not_check(home: Path, tmp_path: Path) -> None:
    bundle = _with_foreign_sigstore_bundle(write_spell(tmp_path / "b"))
    assert run_cli("install", str(bundle), "--json").json()["status"] == "installed"


def test_install_of_a_bundle_without_sigstore_file_is_unaffected_by_the_policy(
    home: Path, tmp_path: Path
) -> None:
    _trust_acme(
        "--sigstore-identity", IDENTITY, "--sigstore-issuer", ISSUER, "--sigstore-trusted-root", str(STAGING)
    )
    assert run_cli("install", str(write_spell(tmp_path / "b")), "--json").json()["status"] == "installed"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{", "cannot read sigstore trust file"),
        ("[]", "needs string fields"),
        (json.dumps({"publisher": "acme", "identity": IDENTITY, "issuer": ISSUER}), "needs string fields"),
        (
            json.dumps({"publisher": "other", "identity": IDENTITY, "issuer": ISSUER, "trusted_root": "r"}),
            "names publisher 'other'",
        ),
        (
            json.dumps({"publisher": "acme", "identity": "", "issuer": ISSUER, "trusted_root": "r"}),
            "non-empty identity and issuer",
        ),
        (
            json.dumps(
                {"publisher": "acme", "identity": IDENTITY, "issuer": ISSUER, "trusted_root": "r"}
                | {"required": 1}
            ),
            "'required' must be a boolean",
        ),
    ],
    ids=["not-json", "array", "no-root", "other-publisher", "empty-identity", "required-not-bool"],
)
def test_malformed_sigstore_trust_file_is_an_error(tmp_path: Path, content: str, reason: str) -> None:
    trust = SigstoreTrust(tmp_path)
    trust.path_for("acme").write_text(content)
    with pytest.raises(InvalidTrustFile, match=reason) as info:
        trust.load("acme")
    assert info.value.details["path"] == str(trust.path_for("acme"))


def test_no_sigstore_trust_file_is_none(tmp_path: Path) -> None:
    assert SigstoreTrust(tmp_path / "absent").load("acme") is None


def test_publish_refuses_a_sigstore_bundle_that_does_not_verify_before_any_upload(
    home: Path, tmp_path: Path
) -> None:
    expected = compat_expected()
    key = expected["public_key_base64url"]
    run_cli(
        "trust", "add", "compat", key, "--key-id", "k1",
        "--sigstore-identity", IDENTITY, "--sigstore-issuer", ISSUER, "--sigstore-trusted-root", str(STAGING),
    )  # fmt: skip
    bundle = _with_foreign_sigstore_bundle(copy_compat_bundle(tmp_path / "greet"))
    # No profile is configured: the refusal must come from the local check, before any server call.
    result = run_cli("publish", str(bundle), "--public-key", key, "--json")
    assert result.exit_code != 0
    assert result.error()["code"] == "SIGSTORE_INVALID"


def test_install_from_a_server_checks_the_sigstore_bundle(live: LiveServer, tmp_path: Path) -> None:
    maker = new_maker(live, tmp_path)
    _with_foreign_sigstore_bundle(maker.bundle)
    published = publish(maker, "--json")
    assert published.exit_code == 0, published.stderr
    publisher = maker.caller.publisher
    assert publisher is not None
    run_cli(
        "trust", "add", publisher.name, publisher.public_key, "--key-id", publisher.key_id,
        "--sigstore-identity", IDENTITY, "--sigstore-issuer", ISSUER, "--sigstore-trusted-root", str(STAGING),
    )  # fmt: skip
    spell_id = published.json()["spell_id"]
    refused = run_cli("install", f"server:{spell_id}", "--profile", "maker", "--json")
    assert refused.exit_code != 0
    assert refused.error()["code"] == "SIGSTORE_INVALID"
    assert run_cli("list", "--json").json() == []


def test_publish_refuses_a_bundle_without_a_required_sigstore_bundle(home: Path, tmp_path: Path) -> None:
    key = compat_expected()["public_key_base64url"]
    run_cli(
        "trust", "add", "compat", key, "--key-id", "k1", "--sigstore-required",
        "--sigstore-identity", IDENTITY, "--sigstore-issuer", ISSUER, "--sigstore-trusted-root", str(STAGING),
    )  # fmt: skip
    result = run_cli("publish", str(copy_compat_bundle(tmp_path / "greet")), "--public-key", key, "--json")
    assert result.exit_code != 0
    error = result.error()
    assert (error["code"], error["message"]) == (
        "SIGNATURE_MISSING",
        "sigstore bundle required: spell.sigstore.json not found",
    )
