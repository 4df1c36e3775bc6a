"""``spell install SOURCE``: fetch a bundle, check it and add it to the local store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from spell.cli.console import activity
from spell.cli.output import emit, json_option
from spell.cli.profiles import profile_option

__all__ = ["command"]


@click.command(name="install")
@click.argument("source")
@click.option("--registry", "registry_name", help="Registry index to resolve registry: sources in.")
@click.option("--force", is_flag=True, help="Replace an installed version whose digest differs.")
@profile_option
@json_option
def command(source: str, registry_name: str | None, force: bool, profile: str | None, as_json: bool) -> None:
    """Install a spell from SOURCE into $SPELL_HOME/spells.

    \b
    SOURCE is one of:
      ./my-spell                         a bundle folder
      ./my-spell.tar                     a canonical archive made by `spell pack`
      https://host/repo.git#v1.0.0       a git remote and the branch or tag to take (required)
      registry:acme/hello[@1.2.0|@latest] an entry of the configured registry index
      oci:ghcr.io/acme/hello:1.2.0       the /spell folder of a container image (needs Docker)
      server:acme/hello[@1.2.0]          a version on the server of --profile (see spell login)

    The digest is recomputed, registry commit/digest pins are enforced (which pins are required
    is set by SPELL_REGISTRY_REQUIRED_PINS: none, commit, digest or both — the default), and the
    signature status is recorded in source.json. A spell.sigstore.json is verified (offline) when
    the publisher was trusted with --sigstore-identity, and a failure refuses the install.
    --registry applies to registry: sources only; with any other source it is refused.
    Installing the same version with the same digest and signature again changes nothing; the
    same files with a new signature (re-signed, or signed for the first time) are installed again
    and reported as "resigned"; a different digest needs --force. Progress goes to stderr (a
    spinner on a terminal).

    \b
    Examples:
      spell install ./hello
      spell install registry:acme/hello --registry mirror --json
    """
    if registry_name is not None and not source.startswith("registry:"):
        from spell.errors import InvalidInput

        # Refused before the source is read, as spell-runtime does, in its words.
        raise InvalidInput(
            "--registry is only supported for registry:<id> install sources",
            details={"source": source, "registry": registry_name},
            hint=f"drop --registry, or install registry:<id> from the {registry_name!r} index",
        )
    if source.startswith("server:"):
        from spell.cli.commands._remote_install import install_from_server

        install_from_server(source, profile=profile, force=force, as_json=as_json)
        return

    from spell.bundle.install import install
    from spell.bundle.manifest import SpellManifest
    from spell.bundle.sources import FetchContext
    from spell.bundle.store import LocalStore
    from spell.config.home import SpellHome
    from spell.config.registry import RegistrySettings
    from spell.signing.sigstore import SigstoreTrust, check_bundle_sigstore
    from spell.signing.trust import TrustStore
    from spell.signing.verifier import check_bundle_signature

    home = SpellHome.from_env()
    settings = RegistrySettings.from_env()
    trust = TrustStore(home.trust)
    sigstore_trust = SigstoreTrust(home.sigstore_trust)

    def signature_status(root: Path, manifest: SpellManifest) -> str:
        # A Sigstore bundle that does not prove the trusted identity refuses the install outright.
        check_bundle_sigstore(root, manifest.publisher, sigstore_trust)
        return check_bundle_signature(root, manifest, trust).status

    with activity(f"installing {source}", quiet=as_json) as progress:
        ctx = FetchContext(
            registry_file=home.registry_file,
            registry_name=registry_name,
            required_pins=settings.required_pins,
            progress=progress,
            timeout_s=float(settings.fetch_timeout_s),
        )
        outcome = install(source, LocalStore(home.spells), ctx, signature_check=signature_status, force=force)
    spell = outcome.spell
    record = spell.source.to_json() if spell.source else None
    data: dict[str, Any] = {"id": spell.id, "version": spell.version, "status": outcome.status}
    data.update(path=str(spell.path), source=record)
    human = f"{spell.id}@{spell.version}"
    if outcome.status == "resigned":
        human += " (signature changed: re-installed with the new one)"
    elif outcome.status != "installed":
        human += f" ({outcome.status})"
    if spell.source is not None:
        human += f"\ndigest: {spell.source.digest}\nsignature: {spell.source.signature}"
    emit(data, as_json=as_json, human=human)
