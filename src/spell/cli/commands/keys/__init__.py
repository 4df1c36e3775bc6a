"""``spell keys``: API keys of platform users (one verb per module)."""

from __future__ import annotations

from spell.cli.lazy import verb_group

__all__ = ["group"]

group = verb_group(
    "keys",
    __name__,
    {
        "create": "Create an API key: yours on the server, or USER's on the server machine (shown once).",
        "list": "Your API keys on the server (never their secrets).",
        "revoke": "Revoke one of your API keys on the server.",
    },
    help_text="""API keys: your own through the server of your profile, or any user's on the server machine.

`spell keys list`, `spell keys revoke` and `spell keys create` without a USER talk to the server
of your profile (GET/DELETE/POST /v1/keys, your own keys). `spell keys create USER` runs on the
server machine against the platform database, for any user (the operator's way in).

\b
Examples:
  spell keys create --name ci --scope cast:invoke
  spell keys list
  spell keys create ops@example.com --name laptop --scope cast:invoke --scope spell:read
""",
)
