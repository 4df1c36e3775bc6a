"""``spell webhooks``: tenants' webhook endpoints and the delivery log, on the server machine."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

_V = "spell.cli.commands.webhooks"

VERBS: dict[str, tuple[str, str]] = {
    "endpoints": (f"{_V}.endpoints:group", "Register, list and remove a tenant's webhook endpoints."),
    "deliveries": (
        f"{_V}.deliveries:command",
        "The delivery log: each event, its receiver and its attempts.",
    ),
    "redeliver": (f"{_V}.redeliver:command", "Send a delivery again now, with a fresh retry schedule."),
}


@click.group(name="webhooks", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """Webhooks on the server machine, against the platform database (any tenant).

    Every cast event (queued, running, progress, its end, a refund) is written to an outbox with the
    change itself and sent by the workers, retried on SPELL_WEBHOOK_RETRY_SCHEDULE. Tenants manage
    their own through /v1/webhooks/...; these verbs are the operator's way in.

    \b
    Examples:
      spell webhooks endpoints add acme https://hooks.example.com/spell --event cast.succeeded
      spell webhooks deliveries --tenant acme --status failed
      spell webhooks redeliver msg_01J...
    """
