"""The MCP server of Spell: AI agents list, estimate and cast spells, follow their progress and read
their artifacts. Every tool is a call of the SDK (``spell.client.AsyncClient``); ``spell mcp`` serves
it over stdio with the user's profile, the server mounts it at ``/mcp`` over streamable HTTP."""

from spell.mcp.server import DEFAULT_WAIT_SECONDS, MAX_WAIT_SECONDS, ClientOpener, build_server

__all__ = ["DEFAULT_WAIT_SECONDS", "MAX_WAIT_SECONDS", "ClientOpener", "build_server"]
