"""``spell logout``: forget a saved server profile (and the API key it holds)."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option
from spell.cli.profiles import DEFAULT_PROFILE, remove_profile

__all__ = ["command"]


@click.command(name="logout")
@click.option(
    "--profile",
    "profile",
    default=DEFAULT_PROFILE,
    show_default=True,
    metavar="NAME",
    help="Which profile to forget.",
)
@json_option
def command(profile: str, as_json: bool) -> None:
    """Forget a saved profile; the key itself stays valid on the server (revoke it there).

    \b
    Examples:
      spell logout
      spell logout --profile local
    """
    path = remove_profile(profile)
    emit(
        {"profile": profile, "path": str(path)},
        as_json=as_json,
        human=f"logged out: profile {profile!r} removed",
    )
