"""``spell keys create [USER]``: your own key through the server, or USER's on the server machine."""

from __future__ import annotations

from datetime import timedelta

import click

from spell.cli.output import emit, json_option
from spell.cli.profiles import profile_option
from spell.platform.auth.schemas import ALL_SCOPES

__all__ = ["command"]


@click.command(name="create")
@click.argument("user", required=False)
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
@profile_option
@json_option
def command(
    user: str | None,
    name: str,
    scopes: tuple[str, ...],
    expires_in_days: int | None,
    is_test: bool,
    profile: str | None,
    as_json: bool,
) -> None:
    """Create an API key. The secret is printed once and never stored.

    Without USER the key is yours, made by the server of your profile (POST /v1/keys). With USER
    (id or email) it is made on the server machine, in the platform database, for that user.

    A key carries only scopes the user's roles allow (SCOPE_NOT_ALLOWED otherwise): caster gets
    cast:invoke spell:read keys:manage, maker adds spell:publish, auditor spell:read audit:read;
    the operator and admin scopes only for those roles (admin only when named with --scope).

    \b
    Examples:
      spell keys create --name ci --scope cast:invoke --expires-in-days 90
      spell keys create ops@example.com --name laptop
      spell keys create ops@example.com --scope admin --expires-in-days 30 --json
    """
    from spell.cli.commands.admin._platform import open_platform
    from spell.kit.time import to_rfc3339, utcnow

    expires = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    if user is None:
        from spell.cli.commands._remote import remote_client
        from spell.cli.commands.keys.list import key_row

        with remote_client(profile) as client:
            made = client.keys.create(name, scopes=list(scopes) or None, expires_at=expires, test=is_test)
        data = {**key_row(made), "token": made.token}
        emit(data, as_json=as_json, human=f"{made.token}\n(key {made.id}; shown once — store it now)")
        return
    source = click.get_current_context().get_parameter_source("profile")
    if source is click.core.ParameterSource.COMMANDLINE:
        from spell.errors import InvalidInput

        raise InvalidInput(
            "a USER's key is made on the server machine; --profile is for your own key on a server",
            hint="leave out USER to create your own key through the profile",
        )
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
