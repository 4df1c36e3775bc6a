"""``spell keys create USER``."""

from __future__ import annotations

from datetime import timedelta

import click

from spell.cli.output import emit, json_option
from spell.platform.auth.schemas import ALL_SCOPES

__all__ = ["command"]


@click.command(name="create")
@click.argument("user")
@click.option("--name", default="default", show_default=True, help="A label for the key.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(list(ALL_SCOPES)),
    help="Repeat for several; only scopes the user's roles allow (default: the roles' everyday scopes).",
)
@click.option("--expires-in-days", type=click.IntRange(min=1), help="Expire the key after this many days.")
@click.option("--test", "is_test", is_flag=True, help="Make an sk_test_ key instead of sk_live_.")
@json_option
def command(
    user: str, name: str, scopes: tuple[str, ...], expires_in_days: int | None, is_test: bool, as_json: bool
) -> None:
    """Create an API key for USER (id or email). The secret is printed once and never stored.

    A key carries only scopes the user's roles allow (SCOPE_NOT_ALLOWED otherwise): caster gets
    cast:invoke spell:read keys:manage, maker adds spell:publish, auditor spell:read audit:read;
    the operator and admin scopes only for those roles (admin only when named with --scope).

    \b
    Examples:
      spell keys create ops@example.com --name laptop
      spell keys create ops@example.com --scope admin --expires-in-days 30 --json
    """
    from spell.cli.commands.admin._platform import open_platform
    from spell.kit.time import to_rfc3339, utcnow

    expires = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    with open_platform() as platform, platform.db.unit_of_work() as uow:
        row = platform.auth.find_user(uow, user)
        created = platform.auth.create_key(
            uow, row, name=name, scopes=list(scopes) or None, expires_at=expires, test=is_test
        )
        data = {
            "id": created.key.id,
            "user_id": row.id,
            "token": created.token,
            "scopes": list(created.key.scopes),
            "expires_at": to_rfc3339(expires) if expires else None,
        }
    emit(data, as_json=as_json, human=f"{created.token}\n(key {created.key.id}; shown once — store it now)")
