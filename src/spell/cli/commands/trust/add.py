"""``spell trust add <publisher> <public-key> [--key-id]``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from spell.cli.commands.trust._store import home_trust_store
from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="add")
@click.argument("publisher")
@click.argument("public_key")
@click.option("--key-id", default="default", show_default=True, help="Key id the signatures name.")
@click.option("--sigstore-identity", help="Certificate identity allowed to sign spell.sigstore.json.")
@click.option("--sigstore-issuer", help="OIDC issuer of that identity.")
@click.option(
    "--sigstore-trusted-root",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Pinned Sigstore trusted_root.json to verify against (offline).",
)
@click.option(
    "--sigstore-required",
    is_flag=True,
    help="Refuse this publisher's bundles without spell.sigstore.json (needs the other --sigstore-*).",
)
@json_option
def command(
    publisher: str,
    public_key: str,
    key_id: str,
    sigstore_identity: str | None,
    sigstore_issuer: str | None,
    sigstore_trusted_root: Path | None,
    sigstore_required: bool,
    as_json: bool,
) -> None:
    """Trust PUBLIC_KEY (Ed25519, SPKI DER as base64url) as KEY_ID of PUBLISHER.

    An existing key with the same id is replaced (and so un-revoked). With the three --sigstore-*
    options, `spell install` also verifies the bundle's spell.sigstore.json, when it has one,
    against that identity, issuer and pinned trusted root; --sigstore-required also refuses
    the publisher's bundles that have none.

    \b
    Example:
      spell trust add acme "$(cat .spell-keys/acme__default.public.b64url.txt)"
      spell trust add acme "$KEY" --sigstore-issuer https://token.actions.githubusercontent.com \\
        --sigstore-identity https://github.com/acme/hello/.github/workflows/release.yml@refs/tags/v1.0.0 \\
        --sigstore-trusted-root ./trusted_root.json
    """
    sigstore_options = (sigstore_identity, sigstore_issuer, sigstore_trusted_root)
    given = any(o is not None for o in sigstore_options) or sigstore_required
    if given and not all(o is not None for o in sigstore_options):
        raise click.UsageError(
            "--sigstore-identity, --sigstore-issuer and --sigstore-trusted-root go together"
        )
    key = home_trust_store().add_key(publisher, public_key, key_id=key_id)
    data: dict[str, Any] = {"publisher": publisher, **key.to_dict()}
    human = f"trusted publisher={publisher} key_id={key.key_id}"
    if sigstore_identity is not None and sigstore_issuer is not None and sigstore_trusted_root is not None:
        from spell.config.home import SpellHome
        from spell.signing.sigstore import SigstorePolicy, SigstoreTrust, SigstoreTrustEntry

        entry = SigstoreTrust(SpellHome.from_env().sigstore_trust).set(
            publisher,
            SigstoreTrustEntry(
                SigstorePolicy(sigstore_identity, sigstore_issuer), sigstore_trusted_root, sigstore_required
            ),
        )
        data["sigstore"] = entry.to_dict()
        human += f" sigstore_identity={sigstore_identity}"
    emit(data, as_json=as_json, human=human)
