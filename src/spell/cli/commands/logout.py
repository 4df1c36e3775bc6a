"""``spell logout``: forget a saved server profile (and the API key it holds)."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option
from spell.cli.profiles import DEFAULT_PROFILE, profile_option, remove_profile

__all__ = ["command"]


@click.command(name="logout")
@profile_option
@json_option
def command(profile: str | None, as_json: bool) -> None:
    """Forget a saved profile; the key itself stays valid on the server (revoke it there).

    \b
    Examples:
      spell logout
      spell logout --profile local
    """
    name = profile or DEFAULT_PROFILE
    path = remove_profile(name)
    emit(
        {"profile": name, "path": str(path)},
        as_json=as_json,
        human=f"logged out: profile {name!r} removed",
    )
