"""`spell publisher sigstore add|list|remove|require` against a live server, and `spell publish` showing
the identity the server verified. Offline: the staging root is pinned, and the digest stands for the
artifact the real staging bundle signs (see tests/platform/spell/test_sigstore_publish.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from spell.config.supply import SupplySettings
from spell.platform.spell import publishers, sigstore
from spell.signing.sigstore import SIGSTORE_FILE
from tests.cli.remote_world import Maker, new_maker, private_homes, publish
from tests.cli.run_cli import run_cli
from tests.client.live_server import LiveServer
from tests.fixtures.live import database_backend, live

__all__ = ["database_backend", "live", "private_homes"]

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "sigstore"
IDENTITY, ISSUER = "a@tny.town", "https://github.com/login/oauth"


@pytest.fixture
def pinned(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    spells = live.platform.spells
    supply = SupplySettings(sigstore_trusted_root=ASSETS / "staging-trusted-root.json", sbom_required_for=())
    spells.policy = dataclasses.replace(spells.policy, supply=supply)
    artifact = (ASSETS / "bundle.txt").read_bytes()
    monkeypatch.setattr(sigstore, "signed_artifact", lambda _digest_hex: artifact)
    return live


def _owned_publisher(live: LiveServer, maker: Maker) -> None:
    """Register the maker's key, as a first `spell publish` would, without publishing anything."""
    signer = maker.caller.publisher
    assert signer is not None
    with live.platform.db.unit_of_work() as uow:
        principal = live.platform.auth.authenticate_key(uow, maker.caller.token)
        publishers.register_key(
            uow, principal, signer.name, key_id=signer.key_id, public_key=signer.public_key
        )


def _sigstore(*args: str) -> dict[str, object]:
    result = run_cli("publisher", "sigstore", *args, "--profile", "maker", "--json")
    assert result.exit_code == 0, result.stderr
    data: dict[str, object] = result.json()
    return data


def test_add_require_publish_remove(pinned: LiveServer, tmp_path: Path) -> None:
    maker = new_maker(pinned, tmp_path)
    _owned_publisher(pinned, maker)
    added = _sigstore("add", "acme", "--identity", IDENTITY, "--issuer", ISSUER)
    assert (added["identity"], added["issuer"], added["revoked_at"]) == (IDENTITY, ISSUER, None)
    identity_id = str(added["id"])
    assert _sigstore("require", "acme")["required"] is True

    unsigned = publish(maker, "--json")
    assert unsigned.exit_code != 0
    assert unsigned.error()["code"] == "SIGSTORE_INVALID"

    (maker.bundle / SIGSTORE_FILE).write_bytes((ASSETS / "bundle.txt.sigstore").read_bytes())
    signed = publish(maker)
    assert signed.exit_code == 0, signed.stderr
    assert f"sigstore: signed by {IDENTITY}" in signed.stdout
    inspected = run_cli("inspect", "server:acme/writer", "--profile", "maker")
    assert inspected.exit_code == 0, inspected.stderr
    assert f"  sigstore: {IDENTITY}\n" in inspected.stdout

    human = run_cli("publisher", "sigstore", "list", "acme", "--profile", "maker")
    assert human.exit_code == 0, human.stderr
    assert human.stdout.startswith("acme: Sigstore required\n")
    assert identity_id in human.stdout

    removed = _sigstore("remove", "acme", identity_id)
    assert removed["revoked_at"] is not None
    refused = publish(maker, "--json")
    assert refused.exit_code != 0
    assert refused.error()["message"] == "spell.sigstore.json cannot be verified: no registered identity"

    assert _sigstore("require", "acme", "--off")["required"] is False
    listed = _sigstore("list", "acme")
    assert listed["required"] is False
    assert [item["id"] for item in listed["items"]] == [identity_id]  # type: ignore[attr-defined]


def test_require_without_an_identity_is_refused(pinned: LiveServer, tmp_path: Path) -> None:
    _owned_publisher(pinned, new_maker(pinned, tmp_path))
    result = run_cli("publisher", "sigstore", "require", "acme", "--profile", "maker", "--json")
    assert result.exit_code != 0
    assert result.error()["code"] == "CONFLICT"
    empty = run_cli("publisher", "sigstore", "list", "acme", "--profile", "maker")
    assert empty.stdout.strip() == "acme: Sigstore not required\nno identities"


def test_another_publishers_identities_are_forbidden(pinned: LiveServer, tmp_path: Path) -> None:
    new_maker(pinned, tmp_path)
    result = run_cli("publisher", "sigstore", "list", "someone-else", "--profile", "maker", "--json")
    assert result.exit_code != 0
    assert result.error()["code"] == "TENANT_FORBIDDEN"
