"""``spell sign keygen <publisher>``: a new Ed25519 key pair in spell-runtime's file layout."""

from __future__ import annotations

from pathlib import Path

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="keygen")
@click.argument("publisher")
@click.option("--key-id", default="default", show_default=True, help="Name of this key.")
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".spell-keys"),
    show_default=True,
    help="Folder for the key files.",
)
@click.option("--force", is_flag=True, help="Replace existing key files of the same name.")
@json_option
def command(publisher: str, key_id: str, out_dir: Path, force: bool, as_json: bool) -> None:
    """Make an Ed25519 key pair for PUBLISHER (the part of spell ids before the first /).

    Writes <publisher>__<key-id>.private.pem (PKCS#8, mode 0600: keep it secret) and
    <publisher>__<key-id>.public.b64url.txt, and prints the `spell trust add` line casters run.

    \b
    Example:
      spell sign keygen acme --key-id 2026
    """
    from spell.signing.keys import generate_keypair

    pair = generate_keypair(publisher, key_id=key_id, out_dir=out_dir, overwrite=force)
    trust_add = f"spell trust add {pair.publisher} {pair.public_key_b64url} --key-id {pair.key_id}"
    data = {
        "publisher": pair.publisher,
        "key_id": pair.key_id,
        "private_key": str(pair.private_key_path),
        "public_key_file": str(pair.public_key_path),
        "public_key_base64url": pair.public_key_b64url,
        "trust_add": trust_add,
    }
    emit(data, as_json=as_json, human="\n".join(f"{name}: {value}" for name, value in data.items()))
