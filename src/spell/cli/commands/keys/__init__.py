"""``spell keys``: API keys of platform users (one verb per module)."""

from __future__ import annotations

from spell.cli.lazy import verb_group

__all__ = ["group"]

group = verb_group(
    "keys",
    __name__,
    {
        "create": "Create an API key for a user (shown once).",
    },
    help_text="""Manage platform API keys from the server machine (remote: POST/GET/DELETE /v1/keys).

\b
Example:
  spell keys create ops@example.com --name laptop --scope cast:invoke --scope spell:read
""",
)
