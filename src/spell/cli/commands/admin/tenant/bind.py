"""``spell admin tenant bind TENANT --issuer ISS --org ORG``."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="bind")
@click.argument("tenant")
@click.option("--issuer", required=True, help="The token issuer (`iss`), one of SPELL_SERVER_JWT_ISSUERS.")
@click.option("--org", required=True, help="The `org` claim its tokens carry for this tenant.")
@json_option
def command(tenant: str, issuer: str, org: str, as_json: bool) -> None:
    """Bind TENANT (id or name) to ISSUER + ORG: new users of those tokens join it.

    Tenants made with `spell admin create-user --tenant` are reached by no token until bound. Refused
    with TENANT_ALREADY_BOUND when the pair names another tenant or TENANT has another binding.

    \b
    Example:
      spell admin tenant bind acme --issuer https://id.example.com --org acme --json
    """
    from spell.cli.commands.admin._platform import open_platform

    with open_platform() as platform, platform.db.unit_of_work() as uow:
        row = platform.auth.bind_tenant(uow, tenant, issuer=issuer, org=org)
        data = {"tenant_id": row.id, "name": row.name, "issuer": row.issuer, "org": row.org}
    emit(data, as_json=as_json, human=f"bound tenant {row.id} ({row.name}) to {org} of {issuer}")
