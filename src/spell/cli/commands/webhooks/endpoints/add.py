"""``spell webhooks endpoints add TENANT URL``: register a receiver for a tenant's events."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="add")
@click.argument("tenant")
@click.argument("url")
@click.option(
    "--event",
    "events",
    multiple=True,
    help="An event type it receives (repeatable), e.g. cast.succeeded; none given: every event.",
)
@click.option("--description", default="", help="A note for people reading the endpoint list.")
@json_option
def command(tenant: str, url: str, events: tuple[str, ...], description: str, as_json: bool) -> None:
    """Register URL as a webhook endpoint of TENANT (its id or name) and print its signing secret.

    The secret is shown this once: give it to whoever runs the receiver, which verifies every
    delivery's webhook-signature with it (Standard Webhooks). The URL must pass the webhook egress
    rules (public https unless SPELL_SERVER_ALLOW_PRIVATE_WEBHOOKS is set).

    \b
    Examples:
      spell webhooks endpoints add acme https://hooks.example.com/spell
      spell webhooks endpoints add ten_01J... https://ops.example.com/h --event cast.failed --json
    """
    from spell.cli.commands.admin._platform import open_platform
    from spell.platform.webhook.schemas import WebhookEndpointOut

    with open_platform() as platform, platform.db.unit_of_work() as uow:
        owner = platform.auth.find_tenant(uow, tenant)
        row, secret = platform.webhooks.endpoints.add(
            uow, owner.id, url, events=events, description=description
        )
        shown = {**WebhookEndpointOut.from_row(row).model_dump(), "tenant_id": owner.id, "secret": secret}
    emit(shown, as_json=as_json, human=f"endpoint {shown['id']} for {owner.id}\nsecret {secret} (shown once)")
