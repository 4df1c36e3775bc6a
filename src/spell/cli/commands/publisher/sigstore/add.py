"""``spell publisher sigstore add PUBLISHER --identity ID --issuer URL``."""

from __future__ import annotations

import click

from spell.cli.commands._remote import remote_client, remote_options
from spell.cli.output import emit

__all__ = ["command"]


@click.command(name="add")
@click.argument("publisher")
@click.option(
    "--identity",
    required=True,
    help="The certificate identity: an e-mail, or a workflow URI such as "
    "https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/tags/v1.0.0.",
)
@click.option(
    "--issuer",
    required=True,
    help="The OIDC issuer that vouches for it, e.g. https://token.actions.githubusercontent.com.",
)
@remote_options
def command(publisher: str, identity: str, issuer: str, profile: str | None, as_json: bool) -> None:
    """Allow IDENTITY from ISSUER to sign PUBLISHER's bundles with Sigstore.

    Both are matched exactly: a workflow identity names one ref. A revoked identity registered again
    is active again.

    \b
    Example:
      spell publisher sigstore add acme --identity maker@example.com --issuer https://github.com/login/oauth
    """
    with remote_client(profile) as client:
        row = client.spells.register_sigstore_identity(publisher, identity, issuer)
    emit(row.model_dump(), as_json=as_json, human=f"{row.id} added: {row.identity} ({row.issuer})")
