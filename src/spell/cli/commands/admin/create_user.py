"""``spell admin create-user EMAIL --role R``."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="create-user")
@click.argument("email")
@click.option(
    "--role",
    "roles",
    multiple=True,
    default=("caster",),
    show_default=True,
    type=click.Choice(["maker", "caster", "operator", "auditor", "admin"]),
    help="Repeat for several.",
)
@click.option("--tenant", help="Tenant (organization) name; default: a new tenant named after the email.")
@json_option
def command(email: str, roles: tuple[str, ...], tenant: str | None, as_json: bool) -> None:
    """Create a user; then give it a key with `spell keys create EMAIL`.

    \b
    Examples:
      spell admin create-user ops@example.com --role admin --role operator
      spell admin create-user dev@example.com --role maker --tenant acme --json
    """
    from spell.cli.commands.admin._platform import open_platform

    with open_platform() as platform, platform.db.unit_of_work() as uow:
        user = platform.auth.create_user(uow, email=email, roles=list(roles), tenant=tenant)
        data = {"id": user.id, "email": user.email, "tenant_id": user.tenant_id, "roles": list(user.roles)}
    emit(data, as_json=as_json, human=f"created user {data['id']} ({email}) roles={','.join(roles)}")
