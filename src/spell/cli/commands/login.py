"""``spell login --server URL``: check an API key with the server and save it as a profile."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option
from spell.cli.profiles import DEFAULT_PROFILE, Profile, profile_option, save_profile

__all__ = ["command"]


@click.command(name="login")
@click.option("--server", envvar="SPELL_SERVER", required=True, metavar="URL", help="The Spell server's URL.")
@click.option(
    "--api-key", "api_key", default=None, metavar="KEY", help="The API key (asked for when left out)."
)
@profile_option
@json_option
def command(server: str, api_key: str | None, profile: str | None, as_json: bool) -> None:
    """Log in to a Spell server: check the API key with GET /v1/me, then save the profile.

    The profile is written only once the server accepted the key, in profiles.json under your config
    folder (readable by you only). Remote commands use it with --profile NAME; SPELL_SERVER and
    SPELL_API_KEY override it.

    \b
    Examples:
      spell login --server https://spell.example.com
      spell login --server http://127.0.0.1:8000 --api-key sk_live_... --profile local
    """
    from spell.client import Client, RetryPolicy

    name = profile or DEFAULT_PROFILE
    key = api_key or click.prompt("API key", hide_input=True).strip()
    url = server.rstrip("/")
    with Client(url, key, retry=RetryPolicy(max_retries=1)) as client:
        me = client.me()
    path = save_profile(Profile(name, url, key))
    data = {
        "profile": name,
        "server": url,
        "user_id": me.user_id,
        "email": me.email,
        "tenant_id": me.tenant_id,
        "roles": me.roles,
        "path": str(path),
    }
    who = me.email or me.user_id
    emit(data, as_json=as_json, human=f"logged in to {url} as {who} (profile {name!r}, saved in {path})")
