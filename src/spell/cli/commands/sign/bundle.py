"""``spell sign bundle <dir> --private-key F``: write ``spell.sig.json`` for a bundle folder."""

from __future__ import annotations

from pathlib import Path

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="bundle")
@click.argument("bundle_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--private-key",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="PKCS#8 PEM Ed25519 private key (from `spell sign keygen`).",
)
@click.option("--key-id", default="default", show_default=True, help="Key id casters trust it under.")
@click.option("--publisher", help="Publisher to sign as (default and only allowed: the id's prefix).")
@json_option
def command(bundle_dir: Path, private_key: Path, key_id: str, publisher: str | None, as_json: bool) -> None:
    """Sign BUNDLE_DIR: Ed25519 over its digest, written to BUNDLE_DIR/spell.sig.json.

    The digest covers the manifest, the inputs schema, everything under steps/ (wasm spells:
    also the module and resources/) and the SBOM (sbom.spdx.json or sbom.cdx.json), so sign after
    the last change to any of them, `spell sbom generate` included.

    \b
    Example:
      spell sign bundle ./hello --private-key .spell-keys/acme__default.private.pem
    """
    from spell.signing.keys import load_private_key
    from spell.signing.signature import SIGNATURE_FILE, sign_bundle

    key = load_private_key(private_key)
    sig = sign_bundle(bundle_dir, key, key_id=key_id, publisher=publisher)
    data = {
        "signed": str(bundle_dir / SIGNATURE_FILE),
        "publisher": sig.publisher,
        "key_id": sig.key_id,
        "digest": sig.digest_hex,
    }
    emit(data, as_json=as_json, human="\n".join(f"{name}: {value}" for name, value in data.items()))
