"""``spell admin ban USER --reason …``."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="ban")
@click.argument("user")
@click.option("--reason", help="Why (shown to the user in the error details).")
@json_option
def command(user: str, reason: str | None, as_json: bool) -> None:
    """Ban a user by id or email: every route answers 403 USER_BANNED until `spell admin unban`.

    \b
    Example:
      spell admin ban spammer@example.com --reason "abuse"
    """
    from spell.cli.commands.admin._platform import open_platform

    with open_platform() as platform, platform.db.unit_of_work() as uow:
        row = platform.auth.find_user(uow, user)
        platform.auth.set_ban(uow, row.id, banned=True, reason=reason)
        data = {"user_id": row.id, "is_banned": True, "reason": reason}
    emit(data, as_json=as_json, human=f"banned {row.id}")
