"""Publishing with ``spell.sigstore.json``: verified offline against the pinned staging root and the
publisher's registered identities; identity registration and the requirement are the owner's only.

No spell bundle's digest can equal the text the real staging bundle signs, so most tests replace the
digest-to-artifact step (``signed_artifact``) with the fixture's artifact: everything after it (the
certificate chain, the transparency-log proof, identity and issuer) is the real offline verification.
``test_the_digest_of_the_bundle_is_what_must_be_signed`` keeps the real step.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from spell.bundle.digest import bundle_digest
from spell.bundle.loaders import load_manifest
from spell.config.supply import SupplySettings
from spell.errors import AlreadyExists, Conflict, InvalidInput, NotFound, PermissionDenied, SigstoreInvalid
from spell.models import SpellVersion
from spell.platform.audit.service import AuditService
from spell.platform.auth.errors import RoleRequired
from spell.platform.auth.schemas import Principal
from spell.platform.server import Platform
from spell.platform.spell import publishers, sigstore
from spell.platform.spell.errors import TenantForbidden
from spell.signing.sigstore import SIGSTORE_FILE
from spell.storage.session import UnitOfWork
from tests.fixtures.bundles import Publisher, archive_of, new_publisher, wasm_bundle
from tests.fixtures.server import seed_user

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "sigstore"
STAGING = ASSETS / "staging-trusted-root.json"
ARTIFACT = (ASSETS / "bundle.txt").read_bytes()
SIGNED = (ASSETS / "bundle.txt.sigstore").read_bytes()
IDENTITY, ISSUER = "a@tny.town", "https://github.com/login/oauth"


@dataclasses.dataclass
class Maker:
    principal: Principal
    publisher: Publisher


@pytest.fixture(autouse=True)
def network_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only loopback and local sockets: the database may be PostgreSQL on 127.0.0.1, Sigstore gets nothing."""
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in ("127.0.0.1", "::1"):
            raise OSError(f"network is off in this test: {address}")
        real_connect(self, address)

    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", "::1", "localhost", None):
            raise OSError(f"network is off in this test: {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def pinned(platform: Platform) -> Platform:
    """The platform with the staging trusted root pinned (and no SBOM gate: not what these tests check)."""
    supply = SupplySettings(sigstore_trusted_root=STAGING, sbom_required_for=())
    platform.spells.policy = dataclasses.replace(platform.spells.policy, supply=supply)
    return platform


@pytest.fixture
def fixture_artifact(monkeypatch: pytest.MonkeyPatch) -> bytes:
    """Every bundle's digest stands for the artifact the staging bundle signs."""
    monkeypatch.setattr(sigstore, "signed_artifact", lambda _digest_hex: ARTIFACT)
    return ARTIFACT


def _maker(platform: Platform, email: str = "maker@example.com", name: str = "acme") -> Maker:
    seeded = seed_user(platform, email, ["maker"])
    signer = new_publisher(name)
    with platform.db.unit_of_work() as uow:
        principal = platform.auth.authenticate_key(uow, seeded.token)
        publishers.register_key(uow, principal, name, key_id=signer.key_id, public_key=signer.public_key)
    return Maker(principal, signer)


def _register(platform: Platform, maker: Maker, identity: str = IDENTITY, issuer: str = ISSUER) -> str:
    with platform.db.unit_of_work() as uow:
        row = sigstore.register_identity(
            uow, maker.principal, maker.publisher.name, identity=identity, issuer=issuer
        )
        return row.id


def _require(platform: Platform, maker: Maker, *, required: bool = True) -> sigstore.PublisherSigstore:
    root = platform.spells.policy.supply.sigstore_trusted_root
    with platform.db.unit_of_work() as uow:
        return sigstore.set_required(
            uow, maker.principal, maker.publisher.name, required=required, trusted_root=root
        )


def _bundle(
    tmp_path: Path, maker: Maker, *, version: str = "1.0.0", sigstore_json: bytes | None = SIGNED
) -> Path:
    bundle = wasm_bundle(
        tmp_path / f"b-{version}", f"{maker.publisher.name}/hello", version=version, signer=maker.publisher
    )
    if sigstore_json is not None:
        (bundle / SIGSTORE_FILE).write_bytes(sigstore_json)
    return bundle


def _publish(platform: Platform, maker: Maker, bundle: Path) -> SpellVersion:
    with platform.db.unit_of_work() as uow:
        row = platform.spells.publish(uow, maker.principal, archive_of(bundle))
        uow.session.expunge(row)
        return row


def _refused(platform: Platform, maker: Maker, bundle: Path) -> SigstoreInvalid:
    with pytest.raises(SigstoreInvalid) as info:
        _publish(platform, maker, bundle)
    assert (info.value.code, info.value.status_code) == ("SIGSTORE_INVALID", 422)
    with platform.db.unit_of_work(write=False) as uow:
        assert platform.spells.repo.spell(uow, f"{maker.publisher.name}/hello") is None
    return info.value


def test_a_valid_staging_bundle_publishes_and_records_the_identity(
    pinned: Platform, fixture_artifact: bytes, tmp_path: Path
) -> None:
    maker = _maker(pinned)
    _register(pinned, maker)
    row = _publish(pinned, maker, _bundle(tmp_path, maker))
    assert row.sigstore_identity == IDENTITY
    # the stored bundle keeps the Sigstore bundle, for installs that check it again
    stored = pinned.spells.bundle_dir(row) / SIGSTORE_FILE
    assert stored.read_bytes() == SIGNED


def test_any_one_active_identity_matching_is_enough(
    pinned: Platform, fixture_artifact: bytes, tmp_path: Path
) -> None:
    maker = _maker(pinned)
    _register(pinned, maker, "someone@example.com")
    _register(pinned, maker)
    assert _publish(pinned, maker, _bundle(tmp_path, maker)).sigstore_identity == IDENTITY


def test_a_changed_artifact_byte_is_refused(
    pinned: Platform, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    changed = bytearray(ARTIFACT)
    changed[-1] ^= 0x01
    monkeypatch.setattr(sigstore, "signed_artifact", lambda _digest_hex: bytes(changed))
    maker = _maker(pinned)
    _register(pinned, maker)
    error = _refused(pinned, maker, _bundle(tmp_path, maker))
    assert error.message.startswith("spell.sigstore.json does not verify for any registered identity")
    assert error.details["identities"] == [{"identity": IDENTITY, "issuer": ISSUER}]
    assert error.hint is not None
    assert "python -m sigstore sign" in error.hint


def test_the_digest_of_the_bundle_is_what_must_be_signed(pinned: Platform, tmp_path: Path) -> None:
    maker = _maker(pinned)
    _register(pinned, maker)
    bundle = _bundle(tmp_path, maker)
    error = _refused(pinned, maker, bundle)
    assert error.details["digest"] == bundle_digest(bundle, load_manifest(bundle)).text


@pytest.mark.parametrize(
    ("identity", "issuer"),
    [("b@tny.town", ISSUER), ("a@tny.town.evil", ISSUER), (IDENTITY, "https://accounts.google.com")],
    ids=["wrong-identity", "identity-suffix", "wrong-issuer"],
)
def test_a_bundle_signed_by_another_identity_or_issuer_is_refused(
    pinned: Platform, fixture_artifact: bytes, tmp_path: Path, identity: str, issuer: str
) -> None:
    maker = _maker(pinned)
    _register(pinned, maker, identity, issuer)
    error = _refused(pinned, maker, _bundle(tmp_path, maker))
    assert "sigstore verification failed" in error.message
    assert error.details["identities"] == [{"identity": identity, "issuer": issuer}]


def test_a_malformed_sigstore_bundle_is_refused(
    pinned: Platform, fixture_artifact: bytes, tmp_path: Path
) -> None:
    maker = _maker(pinned)
    _register(pinned, maker)
    error = _refused(pinned, maker, _bundle(tmp_path, maker, sigstore_json=b"{"))
    assert "malformed sigstore bundle" in error.message


def test_required_and_missing_is_refused_with_a_hint(pinned: Platform, tmp_path: Path) -> None:
    maker = _maker(pinned)
    _register(pinned, maker)
    assert _require(pinned, maker).required is True
    error = _refused(pinned, maker, _bundle(tmp_path, maker, sigstore_json=None))
    assert error.message == "publisher 'acme' requires a Sigstore bundle: spell.sigstore.json not found"
    assert error.hint is not None
    assert "python -m sigstore sign" in error.hint


def test_required_and_verifying_publishes(pinned: Platform, fixture_artifact: bytes, tmp_path: Path) -> None:
    maker = _maker(pinned)
    _register(pinned, maker)
    _require(pinned, maker)
    assert _publish(pinned, maker, _bundle(tmp_path, maker)).sigstore_identity == IDENTITY


def test_not_required_and_absent_publishes_without_an_identity(pinned: Platform, tmp_path: Path) -> None:
    maker = _maker(pinned)
    _register(pinned, maker)
    row = _publish(pinned, maker, _bundle(tmp_path, maker, sigstore_json=None))
    assert row.sigstore_identity is None


def test_a_requirement_turned_off_publishes_without_one_again(pinned: Platform, tmp_path: Path) -> None:
    maker = _maker(pinned)
    _register(pinned, maker)
    _require(pinned, maker)
    assert _require(pinned, maker, required=False).required is False
    assert _publish(pinned, maker, _bundle(tmp_path, maker, sigstore_json=None)).sigstore_identity is None


def test_revoking_the_signing_identity_refuses_the_next_publish(
    pinned: Platform, fixture_artifact: bytes, tmp_path: Path
) -> None:
    maker = _maker(pinned)
    _register(pinned, maker, "other@example.com")
    signing = _register(pinned, maker)
    _publish(pinned, maker, _bundle(tmp_path, maker))
    with pinned.db.unit_of_work() as uow:
        revoked = sigstore.revoke_identity(uow, maker.principal, "acme", signing)
        assert revoked.revoked_at is not None
    error = _refused_version(pinned, maker, _bundle(tmp_path, maker, version="1.0.1"))
    assert error.details["identities"] == [{"identity": "other@example.com", "issuer": ISSUER}]


def test_revoking_the_last_identity_of_a_requiring_publisher_refuses_publishing(
    pinned: Platform, fixture_artifact: bytes, tmp_path: Path
) -> None:
    maker = _maker(pinned)
    signing = _register(pinned, maker)
    _require(pinned, maker)
    with pinned.db.unit_of_work() as uow:
        sigstore.revoke_identity(uow, maker.principal, "acme", signing)
    error = _refused(pinned, maker, _bundle(tmp_path, maker))
    assert error.message == "spell.sigstore.json cannot be verified: no registered identity"
    assert error.hint is not None
    assert "/v1/publishers/acme/sigstore-identities" in error.hint


def _refused_version(platform: Platform, maker: Maker, bundle: Path) -> SigstoreInvalid:
    with pytest.raises(SigstoreInvalid) as info:
        _publish(platform, maker, bundle)
    with platform.db.unit_of_work(write=False) as uow:
        assert platform.spells.repo.version(uow, "acme/hello", "1.0.1") is None
    return info.value


def test_a_bundle_the_server_cannot_check_publishes_with_a_warning_unless_required(
    platform: Platform, fixture_artifact: bytes, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    supply = SupplySettings(sigstore_trusted_root=None, sbom_required_for=())
    platform.spells.policy = dataclasses.replace(platform.spells.policy, supply=supply)
    maker = _maker(platform)
    _register(platform, maker)
    with caplog.at_level(logging.WARNING, logger="spell.platform.spell.sigstore"):
        row = _publish(platform, maker, _bundle(tmp_path, maker))
    assert row.sigstore_identity is None
    assert "published unverified (no pinned trusted root on this server)" in caplog.text


def test_a_bundle_whose_publisher_registered_no_identity_publishes_unverified(
    pinned: Platform, fixture_artifact: bytes, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    maker = _maker(pinned)
    with caplog.at_level(logging.WARNING, logger="spell.platform.spell.sigstore"):
        row = _publish(pinned, maker, _bundle(tmp_path, maker))
    assert row.sigstore_identity is None
    assert "published unverified (no registered identity)" in caplog.text


def test_a_requiring_publisher_is_refused_once_the_root_is_unpinned(
    pinned: Platform, fixture_artifact: bytes, tmp_path: Path
) -> None:
    maker = _maker(pinned)
    _register(pinned, maker)
    _require(pinned, maker)
    supply = SupplySettings(sigstore_trusted_root=None, sbom_required_for=())
    pinned.spells.policy = dataclasses.replace(pinned.spells.policy, supply=supply)
    error = _refused(pinned, maker, _bundle(tmp_path, maker))
    assert error.message == "spell.sigstore.json cannot be verified: no pinned trusted root on this server"
    assert error.hint is not None
    assert "SPELL_SUPPLY_SIGSTORE_TRUSTED_ROOT" in error.hint


def test_a_sigstore_file_that_is_a_link_is_refused(pinned: Platform, tmp_path: Path) -> None:
    maker = _maker(pinned)
    _register(pinned, maker)
    bundle = _bundle(tmp_path, maker, sigstore_json=None)
    (bundle / SIGSTORE_FILE).symlink_to(ASSETS / "bundle.txt.sigstore")
    digest = bundle_digest(bundle, load_manifest(bundle))
    with pinned.db.unit_of_work() as uow, pytest.raises(SigstoreInvalid, match="must be a regular file"):
        sigstore.check_publish(uow, bundle, "acme", digest, STAGING)


def test_the_check_names_the_identity_or_says_why_nothing_was_proven(
    pinned: Platform, fixture_artifact: bytes, tmp_path: Path
) -> None:
    maker = _maker(pinned)
    bundle = _bundle(tmp_path, maker)
    digest = bundle_digest(bundle, load_manifest(bundle))
    with pinned.db.unit_of_work(write=False) as uow:
        unregistered = sigstore.check_publish(uow, bundle, "acme", digest, STAGING)
        unpinned = sigstore.check_publish(uow, bundle, "acme", digest, None)
    assert unregistered == sigstore.SigstoreCheck(
        None, ("spell.sigstore.json was not verified: no registered identity",)
    )
    assert unpinned == sigstore.SigstoreCheck(
        None, ("spell.sigstore.json was not verified: no pinned trusted root on this server",)
    )
    _register(pinned, maker)
    with pinned.db.unit_of_work(write=False) as uow:
        assert sigstore.check_publish(uow, bundle, "acme", digest, STAGING) == sigstore.SigstoreCheck(
            IDENTITY
        )
        absent = _bundle(tmp_path / "plain", maker, sigstore_json=None)
        assert sigstore.check_publish(uow, absent, "acme", digest, STAGING) == sigstore.SigstoreCheck()


def test_requiring_needs_an_active_identity_and_a_pinned_root(pinned: Platform) -> None:
    maker = _maker(pinned)
    with pytest.raises(Conflict) as no_identity:
        _require(pinned, maker)
    assert no_identity.value.message == "publisher 'acme' has no active Sigstore identity to require"
    assert no_identity.value.hint is not None
    identity_id = _register(pinned, maker)
    with pinned.db.unit_of_work() as uow:
        sigstore.revoke_identity(uow, maker.principal, "acme", identity_id)
    with pytest.raises(Conflict, match="no active Sigstore identity"):
        _require(pinned, maker)
    _register(pinned, maker)  # the revoked identity is active again
    with pinned.db.unit_of_work() as uow, pytest.raises(Conflict) as no_root:
        sigstore.set_required(uow, maker.principal, "acme", required=True, trusted_root=None)
    assert "no pinned Sigstore trusted root" in no_root.value.message
    with pinned.db.unit_of_work(write=False) as uow:
        assert pinned.spells.repo.publisher(uow, "acme").sigstore_required is False  # type: ignore[union-attr]


def test_registration_is_listed_and_revoked_identities_come_back_when_registered_again(
    pinned: Platform,
) -> None:
    maker = _maker(pinned)
    first = _register(pinned, maker)
    with pinned.db.unit_of_work() as uow, pytest.raises(AlreadyExists, match="already registered"):
        sigstore.register_identity(uow, maker.principal, "acme", identity=f" {IDENTITY} ", issuer=ISSUER)
    with pinned.db.unit_of_work() as uow:
        sigstore.revoke_identity(uow, maker.principal, "acme", first)
        sigstore.revoke_identity(uow, maker.principal, "acme", first)  # twice: still revoked, no error
    with pinned.db.unit_of_work(write=False) as uow:
        listed = sigstore.list_identities(uow, maker.principal, "acme")
    assert [(r.id, r.revoked_at is not None) for r in listed.identities] == [(first, True)]
    assert _register(pinned, maker) == first
    with pinned.db.unit_of_work(write=False) as uow:
        listed = sigstore.list_identities(uow, maker.principal, "acme")
    assert (listed.publisher, listed.required) == ("acme", False)
    assert [(r.identity, r.issuer, r.revoked_at) for r in listed.identities] == [(IDENTITY, ISSUER, None)]


@pytest.mark.parametrize(
    ("identity", "issuer", "message"),
    [
        ("", ISSUER, "non-empty identity and issuer"),
        (IDENTITY, "  ", "non-empty identity and issuer"),
        (IDENTITY, "http://github.com/login/oauth", "must be an https:// OIDC issuer URL"),
        (IDENTITY, "github", "must be an https:// OIDC issuer URL"),
    ],
)
def test_an_incomplete_identity_is_refused(
    pinned: Platform, identity: str, issuer: str, message: str
) -> None:
    maker = _maker(pinned)
    with pytest.raises(InvalidInput, match=message):
        _register(pinned, maker, identity, issuer)


def test_only_the_publishers_tenant_manages_its_identities(pinned: Platform) -> None:
    maker = _maker(pinned)
    identity_id = _register(pinned, maker)
    other = _maker(pinned, "other@example.com", "other")
    calls: list[Callable[[UnitOfWork], object]] = [
        lambda uow: sigstore.register_identity(uow, other.principal, "acme", identity="x@y.z", issuer=ISSUER),
        lambda uow: sigstore.list_identities(uow, other.principal, "acme"),
        lambda uow: sigstore.revoke_identity(uow, other.principal, "acme", identity_id),
        lambda uow: sigstore.set_required(uow, other.principal, "acme", required=False, trusted_root=STAGING),
        lambda uow: sigstore.list_identities(uow, maker.principal, "nobody"),
    ]
    for call in calls:
        with pinned.db.unit_of_work() as uow, pytest.raises(TenantForbidden):
            call(uow)
    with pinned.db.unit_of_work(write=False) as uow:
        rows = sigstore.list_identities(uow, maker.principal, "acme").identities
    assert [r.revoked_at for r in rows] == [None]


def test_another_publishers_identity_id_is_not_found(pinned: Platform) -> None:
    maker = _maker(pinned)
    other = _maker(pinned, "other@example.com", "other")
    theirs = _register(pinned, other)
    for identity_id in (theirs, "sgid_missing"):
        with pinned.db.unit_of_work() as uow, pytest.raises(NotFound) as info:
            sigstore.revoke_identity(uow, maker.principal, "acme", identity_id)
        assert info.value.details == {"publisher": "acme", "id": identity_id}


def test_casters_and_keys_without_the_publish_scope_are_refused(pinned: Platform) -> None:
    maker = _maker(pinned)
    caster = seed_user(pinned, "caster@example.com", ["caster"])
    narrow = seed_user(pinned, "narrow@example.com", ["maker"], scopes=["spell:read"])
    with pinned.db.unit_of_work(write=False) as uow:
        as_caster = pinned.auth.authenticate_key(uow, caster.token)
        as_narrow = pinned.auth.authenticate_key(uow, narrow.token)
    with pinned.db.unit_of_work() as uow, pytest.raises(RoleRequired):
        sigstore.register_identity(uow, as_caster, "acme", identity=IDENTITY, issuer=ISSUER)
    with pinned.db.unit_of_work() as uow, pytest.raises(PermissionDenied) as info:
        sigstore.list_identities(uow, as_narrow, "acme")
    assert info.value.details == {"required_scope": "spell:publish"}
    with pinned.db.unit_of_work(write=False) as uow:
        assert sigstore.list_identities(uow, maker.principal, "acme").identities == []


def test_identity_and_policy_changes_reach_the_audit_chain(pinned: Platform) -> None:
    maker = _maker(pinned)
    identity_id = _register(pinned, maker)
    _require(pinned, maker)
    _require(pinned, maker, required=False)
    with pinned.db.unit_of_work() as uow:
        sigstore.revoke_identity(uow, maker.principal, "acme", identity_id)
    _register(pinned, maker)
    with pinned.db.unit_of_work(write=False) as uow:
        audit = AuditService()
        audit.verify(uow)
        records = [r for r in audit.list(uow, limit=1000) if "sigstore" in r.action]
    subject = f"acme/{identity_id}"
    assert [(r.action, r.subject, r.data, r.actor_id) for r in sorted(records, key=lambda r: r.seq)] == [
        (
            "sigstore_identity.added",
            subject,
            {"identity": IDENTITY, "issuer": ISSUER},
            maker.principal.user_id,
        ),
        ("publisher.sigstore_required", "acme", {"required": True}, maker.principal.user_id),
        ("publisher.sigstore_required", "acme", {"required": False}, maker.principal.user_id),
        (
            "sigstore_identity.revoked",
            subject,
            {"identity": IDENTITY, "issuer": ISSUER},
            maker.principal.user_id,
        ),
        (
            "sigstore_identity.added",
            subject,
            {"identity": IDENTITY, "issuer": ISSUER},
            maker.principal.user_id,
        ),
    ]


def test_sigstore_bundle_verification_never_opens_a_network_socket() -> None:
    with pytest.raises(OSError, match="network is off"):
        socket.create_connection(("tuf-repo-cdn.sigstage.dev", 443), timeout=1)
