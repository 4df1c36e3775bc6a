"""``spell webhooks endpoints remove TENANT ID``: stop sending to an endpoint."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="remove")
@click.argument("tenant")
@click.argument("endpoint_id")
@json_option
def command(tenant: str, endpoint_id: str, as_json: bool) -> None:
    """Remove ENDPOINT_ID of TENANT: nothing more is sent to it and its pending deliveries fail.

    Its deliveries stay in the log (spell webhooks deliveries --endpoint ID).

    \b
    Examples:
      spell webhooks endpoints remove acme whep_01J...
    """
    from spell.cli.commands.admin._platform import open_platform

    with open_platform() as platform, platform.db.unit_of_work() as uow:
        owner = platform.auth.find_tenant(uow, tenant)
        platform.webhooks.endpoints.remove(uow, owner.id, endpoint_id)
    emit({"id": endpoint_id, "removed": True}, as_json=as_json, human=f"removed {endpoint_id}")
