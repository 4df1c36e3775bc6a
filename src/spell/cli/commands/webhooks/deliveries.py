"""``spell webhooks deliveries``: the delivery log, newest first, with every attempt."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="deliveries")
@click.option("--tenant", help="Only this tenant's (id or name); left out: every tenant's.")
@click.option("--endpoint", "endpoint_id", help="Only deliveries to this endpoint id.")
@click.option("--status", type=click.Choice(["pending", "delivered", "failed"]), help="Only in this state.")
@click.option("--event", "event_type", help="Only this event type, e.g. cast.succeeded.")
@click.option(
    "--limit", type=click.IntRange(1, 100), default=20, show_default=True, help="At most this many."
)
@json_option
def command(
    tenant: str | None,
    endpoint_id: str | None,
    status: str | None,
    event_type: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List webhook deliveries, newest first: event, receiver, state and attempts so far.

    A failed delivery ran out of retries (SPELL_WEBHOOK_RETRY_SCHEDULE); send it again with
    `spell webhooks redeliver ID`. --json includes each attempt (time, HTTP status or error, duration)
    and the payload.

    \b
    Examples:
      spell webhooks deliveries --tenant acme --status failed
      spell webhooks deliveries --event cast.succeeded --limit 5 --json
    """
    from spell.cli.commands._remote import rows
    from spell.cli.commands.admin._platform import open_platform
    from spell.platform.webhook.schemas import WebhookDeliveryOut

    with open_platform() as platform, platform.db.unit_of_work(write=False) as uow:
        tenant_id = None if tenant is None else platform.auth.find_tenant(uow, tenant).id
        page, next_cursor = platform.webhooks.deliveries(
            uow, tenant_id, endpoint_id=endpoint_id, status=status, event_type=event_type, limit=limit
        )
        items = [WebhookDeliveryOut.with_attempts(row, attempts) for row, attempts in page]
    table = rows(
        ("ID", "EVENT", "STATUS", "TRIES", "LAST", "URL"),
        [
            (d.id, d.event_type, d.status, d.attempt_count, d.last_status_code or d.last_error, d.url)
            for d in items
        ],
        empty="no deliveries",
    )
    emit({"items": [d.model_dump() for d in items], "next_cursor": next_cursor}, as_json=as_json, human=table)
