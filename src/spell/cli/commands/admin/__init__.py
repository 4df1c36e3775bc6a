"""``spell admin``: bootstrap users and moderate (one verb per module)."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

_V = "spell.cli.commands.admin"

VERBS: dict[str, tuple[str, str]] = {
    "create-user": (f"{_V}.create_user:command", "Create a platform user with roles (and its tenant)."),
    "ban": (f"{_V}.ban:command", "Ban a user: every route answers 403 USER_BANNED."),
    "unban": (f"{_V}.unban:command", "Lift a ban."),
    "load-buttons": (f"{_V}.load_buttons:command", "Create or update buttons from a JSON file."),
    "credit": (f"{_V}.credit:command", "Credit a user's prepaid wallet (decimal amount)."),
    "revenue-share": (f"{_V}.revenue_share:command", "Set the maker's share of a spell's revenue."),
    "tenant": (f"{_V}.tenant:group", "Bind a tenant to a token issuer and org."),
}


@click.group(name="admin", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """Operator commands that act on the platform database directly.

    \b
    Typical bootstrap:
      spell db upgrade
      spell admin create-user ops@example.com --role admin
      spell keys create ops@example.com --name laptop
    """
