"""``spell verify <id> [--version V]`` / ``spell verify --path DIR``: check digest and signature."""

from __future__ import annotations

from pathlib import Path

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="verify")
@click.argument("spell_id", required=False)
@click.option("--version", "version", help="Installed version to check (default: the highest).")
@click.option(
    "--path",
    "bundle_path",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Check a bundle folder instead of an installed spell.",
)
@json_option
def command(spell_id: str | None, version: str | None, bundle_path: Path | None, as_json: bool) -> None:
    """Verify a spell's digest and signature against the trust store.

    The outcome is verified, unsigned, untrusted or invalid, with the reason (for example
    "digest mismatch" when a covered file changed after signing). Exits 0 only when verified,
    printing status, publisher, key_id and digest; otherwise stdout stays empty and stderr says
    "signature <status>: <reason>" (with --json: the error document, the report in its details).

    \b
    Examples:
      spell verify acme/hello
      spell verify acme/hello --version 1.2.0 --json
      spell verify --path ./hello
    """
    from spell.bundle.loaders import load_manifest
    from spell.config.home import SpellHome
    from spell.errors import SpellError
    from spell.signing.trust import TrustStore
    from spell.signing.verifier import check_bundle_signature

    if (spell_id is None) == (bundle_path is None):
        raise click.UsageError("give either a spell id or --path DIR")
    home = SpellHome.from_env()
    if spell_id is not None:
        from spell.bundle.store import LocalStore

        installed = LocalStore(home.spells).resolve(spell_id, version)
        path, manifest = installed.path, installed.manifest
    elif bundle_path is not None:
        if version is not None:
            raise click.UsageError("--version applies to installed spells, not to --path")
        path, manifest = bundle_path, load_manifest(bundle_path)
    report = check_bundle_signature(path, manifest, TrustStore(home.trust))
    status_lines = (
        f"status: {report.status}\npublisher: {report.publisher}\n"
        f"key_id: {report.key_id or '-'}\ndigest: {f'sha256:{report.digest}' if report.digest else '-'}"
    )
    try:
        report.raise_unless_verified()
    except SpellError as exc:
        # spell-runtime's "signature <status>: <reason>"; stdout stays empty as for every refusal
        exc.message = f"signature {report.status}: {report.message}"
        raise
    data = {**report.to_dict(), "id": manifest.id, "version": manifest.version, "path": str(path)}
    emit(data, as_json=as_json, human=f"verified {manifest.id}@{manifest.version}\n{status_lines}")
