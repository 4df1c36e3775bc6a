"""``spell webhooks redeliver ID``: send a delivery again now."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="redeliver")
@click.argument("delivery_id")
@json_option
def command(delivery_id: str, as_json: bool) -> None:
    """Queue DELIVERY_ID (a msg_... id from `spell webhooks deliveries`) to be sent again at once.

    The receiver gets the same webhook-id and body, so it can tell a repeat; a fresh retry schedule
    starts, and the log keeps the earlier attempts. A running server or worker sends it within
    SPELL_WEBHOOK_POLL_SECONDS.

    \b
    Examples:
      spell webhooks redeliver msg_01J...
    """
    from spell.cli.commands.admin._platform import open_platform
    from spell.platform.webhook.schemas import WebhookDeliveryOut

    with open_platform() as platform, platform.db.unit_of_work() as uow:
        row = platform.webhooks.redeliver(uow, None, delivery_id)
        shown = WebhookDeliveryOut.with_attempts(row, platform.webhooks.attempts(uow, delivery_id))
    emit(
        shown.model_dump(),
        as_json=as_json,
        human=f"{delivery_id} queued again ({shown.attempt_count} tries so far)",
    )
