"""``spell webhooks endpoints list TENANT``: a tenant's webhook endpoints."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="list")
@click.argument("tenant")
@json_option
def command(tenant: str, as_json: bool) -> None:
    """List the webhook endpoints of TENANT (its id or name), oldest first, without their secrets.

    \b
    Examples:
      spell webhooks endpoints list acme
      spell webhooks endpoints list acme --json
    """
    from spell.cli.commands._remote import rows
    from spell.cli.commands.admin._platform import open_platform
    from spell.platform.webhook.schemas import WebhookEndpointOut

    with open_platform() as platform, platform.db.unit_of_work(write=False) as uow:
        owner = platform.auth.find_tenant(uow, tenant)
        items = [
            WebhookEndpointOut.from_row(row) for row in platform.webhooks.endpoints.list_for(uow, owner.id)
        ]
    table = rows(
        ("ID", "URL", "EVENTS", "CREATED"),
        [(e.id, e.url, ",".join(e.events) or "all", e.created_at) for e in items],
        empty="no endpoints",
    )
    emit({"items": [e.model_dump() for e in items]}, as_json=as_json, human=table)
