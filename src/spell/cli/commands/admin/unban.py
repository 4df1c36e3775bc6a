"""``spell admin unban USER``."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="unban")
@click.argument("user")
@json_option
def command(user: str, as_json: bool) -> None:
    """Lift a ban (user id or email).

    \b
    Example:
      spell admin unban spammer@example.com
    """
    from spell.cli.commands.admin._platform import open_platform

    with open_platform() as platform, platform.db.unit_of_work() as uow:
        row = platform.auth.find_user(uow, user)
        platform.auth.set_ban(uow, row.id, banned=False)
        data = {"user_id": row.id, "is_banned": False}
    emit(data, as_json=as_json, human=f"unbanned {row.id}")
