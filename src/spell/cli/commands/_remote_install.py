"""``spell install server:PUBLISHER/NAME[@VERSION]``: a version downloaded from the server of a
profile, then installed by the same code as every other source.

The archive comes from ``GET /v1/spells/{id}/versions/{v}/archive`` (the latest version when none
is named). It is unpacked with the archive source's checks, its digest is recomputed and compared
with the one the server recorded, and its signature is checked against *your* trust store, exactly
as for a folder or a registry install: the server's word that it verified the bundle is not taken.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from spell.cli.commands._progress import Progress
from spell.cli.commands._remote import remote_client
from spell.cli.output import emit
from spell.errors import InvalidBundle, InvalidInput

if TYPE_CHECKING:
    from spell.client.models import VersionArchive
    from spell.config.home import SpellHome
    from spell.signing.trust import TrustStore

__all__ = ["PREFIX", "install_from_server", "parse_source"]

PREFIX = "server:"


def parse_source(text: str) -> tuple[str, str | None]:
    """``server:acme/hello@1.2.0`` into ``("acme/hello", "1.2.0")``; no version (or ``@latest``) is None."""
    rest = text.removeprefix(PREFIX)
    spell_id, at, version = rest.partition("@")
    if "/" not in spell_id or not spell_id.split("/", 1)[1] or (at and not version):
        raise InvalidInput(
            f"not a server source: {text!r}",
            details={"source": text},
            hint="write server:PUBLISHER/NAME or server:PUBLISHER/NAME@VERSION",
        )
    return spell_id, None if version in ("", "latest") else version


def install_from_server(source: str, *, profile: str | None, force: bool, as_json: bool) -> None:
    """Download, check and install one version; prints what ``spell install`` prints."""
    from spell.bundle.install import install_fetched
    from spell.bundle.loaders import load_manifest
    from spell.bundle.manifest import SpellManifest
    from spell.bundle.sources.archive import fetch_archive
    from spell.bundle.store import LocalStore
    from spell.config.home import SpellHome
    from spell.signing.sigstore import SigstoreTrust, check_bundle_sigstore
    from spell.signing.trust import TrustStore
    from spell.signing.verifier import check_bundle_signature

    spell_id, version = parse_source(source)
    home = SpellHome.from_env()
    trust = TrustStore(home.trust)
    sigstore_trust = SigstoreTrust(home.sigstore_trust)

    def signature_status(root: Path, manifest: SpellManifest) -> str:
        check_bundle_sigstore(root, manifest.publisher, sigstore_trust)
        return check_bundle_signature(root, manifest, trust).status

    with (
        remote_client(profile, timeout=120.0) as client,
        Progress(f"installing {source}", quiet=as_json) as progress,
    ):
        if version is None:
            progress.status(f"resolving the latest version of {spell_id}")
            version = client.spells.get(spell_id).latest_version
        progress.status(f"downloading {spell_id}@{version}")
        archive = client.spells.archive(spell_id, version)
        progress.line(f"downloaded {spell_id}@{version} ({len(archive.content)} B)")
        url = f"{client.settings.base_url}/v1/spells/{quote(spell_id)}/versions/{quote(version)}/archive"
    with tempfile.TemporaryDirectory(prefix="spell-install-") as work:
        tar = Path(work) / "archive.tar"
        tar.write_bytes(archive.content)
        fetched = fetch_archive(str(tar), Path(work))
        manifest = load_manifest(fetched.root)
        if (manifest.id, manifest.version) != (spell_id, version):
            raise InvalidBundle(
                f"the server sent {manifest.id}@{manifest.version} for {spell_id}@{version}",
                details={"asked": f"{spell_id}@{version}", "got": f"{manifest.id}@{manifest.version}"},
            )
        fetched = dataclasses.replace(fetched, source=source, url=url, expected_digest=archive.digest)
        outcome = install_fetched(
            fetched, LocalStore(home.spells), signature_check=signature_status, force=force
        )
    spell = outcome.spell
    record = spell.source.to_json() if spell.source else None
    data: dict[str, Any] = {"id": spell.id, "version": spell.version, "status": outcome.status}
    data.update(path=str(spell.path), source=record)
    if archive.license is not None:
        data["license"] = _store_license(archive, spell.id, home, trust)
    human = f"{spell.id}@{spell.version}" + ("" if outcome.status == "installed" else f" ({outcome.status})")
    if spell.source is not None:
        human += f"\ndigest: {spell.source.digest}\nsignature: {spell.source.signature}"
    if "license" in data:
        human += f"\nlicense: {data['license']['name']} (issuer {data['license']['issuer']})"
    emit(data, as_json=as_json, human=human)


def _store_license(
    archive: VersionArchive, spell_id: str, home: SpellHome, trust: TrustStore
) -> dict[str, Any]:
    """Keep a bought clone spell's licence as licence ``spell_id``, so its billed casts run here.

    The server's licence issuer is trusted on first sight: its name (``platform:…``) cannot be a
    publisher's, so its key vouches for licences only, never for a bundle's signature. A key already
    trusted under that name is never replaced; a licence it does not verify is refused.
    """
    from spell.kit.time import utcnow
    from spell.signing.licenses import LicenseStore

    issuer, key = archive.license_issuer or "", archive.license_key or ""
    key_id, _, public_key = key.partition(":")
    if not issuer.startswith("platform:") or not key_id or not public_key:
        raise InvalidInput(
            "the server sent a licence without a platform issuer key",
            details={"issuer": issuer},
        )
    known = trust.load(issuer)
    if known is None or known.find(key_id) is None:
        trust.add_key(issuer, public_key, key_id=key_id)
    assert archive.license is not None  # noqa: S101 - the caller checked
    stored = LicenseStore(home.licenses).add(spell_id, archive.license, trust=trust, now=utcnow())
    return {"name": stored.name, "issuer": stored.claims.issuer, "mode": stored.claims.mode}
