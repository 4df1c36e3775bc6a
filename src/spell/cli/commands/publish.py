"""``spell publish DIR``: pack a signed bundle, register its signing key if needed, upload it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from spell.cli.commands._remote import remote_options
from spell.cli.commands.sbom._gate import advisories_option, local_verdict, show_warnings
from spell.cli.output import emit

if TYPE_CHECKING:
    from spell.signing.signature import SignatureFile

__all__ = ["command"]

VISIBILITIES = ("public", "unlisted", "private", "team")


@click.command(name="publish")
@click.argument("bundle_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--visibility",
    type=click.Choice(VISIBILITIES),
    default="public",
    show_default=True,
    help="Who may see and cast the spell.",
)
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="A search tag (repeatable).")
@click.option(
    "--public-key",
    metavar="KEY|FILE",
    help="The signing key's public part (base64url, or a file holding it); found by itself when left out.",
)
@click.option(
    "--keys-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".spell-keys"),
    show_default=True,
    help="Where `spell sign keygen` wrote the key pair.",
)
@advisories_option
@remote_options
def command(
    bundle_dir: Path,
    visibility: str,
    tags: tuple[str, ...],
    public_key: str | None,
    keys_dir: Path,
    advisories: Path | None,
    profile: str | None,
    as_json: bool,
) -> None:
    """Publish BUNDLE_DIR (signed with `spell sign bundle`) to the server of your profile.

    The folder is packed into the canonical archive. The signing key named in spell.sig.json is
    registered for the publisher first unless the server already has a key by that id
    (POST /v1/publishers/PUBLISHER/keys); its public part comes from --public-key, else
    KEYS_DIR/<publisher>__<key-id>.public.b64url.txt, else your local trust store, and must
    verify the bundle here before anything is sent. A spell.sigstore.json is checked too when your
    trust store holds a Sigstore identity for the publisher (spell trust add --sigstore-*). Prints
    the version and its digest; upload progress goes to stderr.

    Before the upload, the bundle's SBOM goes through the same supply-chain gate as on the server
    (this machine's SPELL_SUPPLY_* settings, the OSV advisories in --advisories): a refusal stops
    here and nothing is sent; its warnings go to stderr.

    \b
    Examples:
      spell publish ./hello
      spell publish ./hello --visibility private --tag text --tag demo --json
    """
    from spell.bundle.archive import pack_bundle
    from spell.cli.commands._progress import Progress
    from spell.cli.commands._remote import remote_client
    from spell.errors import AlreadyExists

    signature, key = signing_key(bundle_dir, public_key, keys_dir)
    verdict = local_verdict(bundle_dir, visibility=visibility, advisories=advisories)
    verdict.raise_for_refusal()
    if not as_json:
        show_warnings(verdict)
    archive = pack_bundle(bundle_dir)
    with remote_client(profile, timeout=120.0) as client, Progress("publishing", quiet=as_json) as progress:
        progress.status(f"registering key {signature.key_id} of {signature.publisher}")
        try:
            client.spells.register_key(signature.publisher, signature.key_id, key)
            registered = True
        except AlreadyExists:
            registered = False
        progress.line(
            f"key {signature.publisher}/{signature.key_id}: "
            + ("registered" if registered else "already on the server")
        )
        progress.status(f"uploading {_size(len(archive))} to {client.settings.base_url}")
        version = client.spells.publish(archive, visibility=visibility, tags=tags)
        progress.line(f"uploaded {_size(len(archive))}")
    data = {
        "spell_id": version.spell_id,
        "version": version.version,
        "digest": version.digest,
        "visibility": visibility,
        "tags": list(tags),
        "signer_key_id": version.signer_key_id,
        "sigstore_identity": version.sigstore_identity,
        "key_registered": registered,
        "archive_size": len(archive),
        "server": client.settings.base_url,
        "warnings": version.warnings,
    }
    human = f"published {version.spell_id}@{version.version}\ndigest: {version.digest}"
    if version.sigstore_identity:
        human += f"\nsigstore: signed by {version.sigstore_identity}"
    if not as_json:
        for warning in version.warnings:  # the server's own (its advisories, its Sigstore check)
            click.echo(f"warning (server): {warning}", err=True)
    emit(data, as_json=as_json, human=human)


def signing_key(bundle_dir: Path, given: str | None, keys_dir: Path) -> tuple[SignatureFile, str]:
    """The bundle's signature and the public key that verifies it (checked here, before upload)."""
    from spell.bundle.loaders import load_manifest
    from spell.config.home import SpellHome
    from spell.errors import SignatureMissing, SignatureUntrusted
    from spell.signing.signature import read_signature
    from spell.signing.sigstore import SigstoreTrust, check_bundle_sigstore
    from spell.signing.trust import PublisherTrust, TrustedKey
    from spell.signing.verifier import verify_bundle

    manifest = load_manifest(bundle_dir)
    signature = read_signature(bundle_dir)
    if signature is None:
        raise SignatureMissing(
            f"{bundle_dir} is not signed: the server publishes signed bundles only",
            details={"path": str(bundle_dir)},
            hint=f"sign it first: spell sign bundle {bundle_dir} --private-key KEY.private.pem",
        )
    key = given_key(given) if given else found_key(signature, keys_dir)
    if key is None:
        raise SignatureUntrusted(
            f"no public key {signature.key_id!r} of {signature.publisher!r} found to register",
            details={"publisher": signature.publisher, "key_id": signature.key_id, "keys_dir": str(keys_dir)},
            hint="pass --public-key (the .public.b64url.txt file `spell sign keygen` wrote) or --keys-dir",
        )

    only = TrustedKey(signature.key_id, key)

    class _OneKey:
        def load(self, publisher: str) -> PublisherTrust | None:
            return PublisherTrust(publisher, (only,))

    verify_bundle(bundle_dir, manifest, _OneKey())
    check_bundle_sigstore(bundle_dir, manifest.publisher, SigstoreTrust(SpellHome.from_env().sigstore_trust))
    return signature, key


def given_key(value: str) -> str:
    """``--public-key``: a file holding the key, or the key itself."""
    path = Path(value).expanduser()
    return path.read_text(encoding="utf-8").strip() if path.is_file() else value.strip()


def found_key(signature: SignatureFile, keys_dir: Path) -> str | None:
    """The key pair file `spell sign keygen` wrote, else the local trust store's active key."""
    from spell.config.home import SpellHome
    from spell.signing.keys import key_file_stem
    from spell.signing.trust import TrustStore

    file = keys_dir / f"{key_file_stem(signature.publisher, signature.key_id)}.public.b64url.txt"
    if file.is_file():
        return file.read_text(encoding="utf-8").strip()
    trusted = TrustStore(SpellHome.from_env().trust).load(signature.publisher)
    entry = trusted.find(signature.key_id) if trusted else None
    return entry.public_key if entry is not None and not entry.revoked else None


def _size(count: int) -> str:
    return f"{count} B" if count < 1024 else f"{count / 1024:.1f} KiB"
