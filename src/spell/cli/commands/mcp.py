"""``spell mcp``: the MCP server over stdio, for desktop agents, speaking to a Spell server."""

from __future__ import annotations

import click

from spell.cli.profiles import profile_option

__all__ = ["command"]


@click.command(name="mcp")
@profile_option
@click.option(
    "--max-artifact-bytes",
    type=click.IntRange(min=1),
    default=4 * 1024 * 1024,
    show_default=True,
    help="The largest artifact read as a resource.",
)
def command(profile: str | None, max_artifact_bytes: int) -> None:
    """Serve the Spell MCP server over stdio (JSON-RPC on stdin/stdout, logs on stderr).

    It reaches the server of the profile (spell login), or SPELL_SERVER with SPELL_API_KEY, and acts
    with that key's scopes, budget and tenant. Configure it in an MCP client as the command
    `spell mcp` (add --profile NAME to pick a profile).

    \b
    Example (an MCP client's server list):
      {"spell": {"command": "spell", "args": ["mcp"],
                 "env": {"SPELL_SERVER": "https://spell.example.com", "SPELL_API_KEY": "sk_..."}}}
    """
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager
    from typing import Any

    import anyio
    from mcp.server.mcpserver import Context

    from spell.cli.profiles import resolve_profile
    from spell.client import AsyncClient, RetryPolicy
    from spell.mcp import build_server

    chosen = resolve_profile(profile)

    async def serve() -> None:
        # Connection failures are retried; a refusal with Retry-After (429) goes to the agent at once,
        # with its retry_after, for the agent to decide.
        retry = RetryPolicy(max_wait=0)
        async with AsyncClient(chosen.server, chosen.api_key, retry=retry) as client:

            @asynccontextmanager
            async def the_client(_ctx: Context[Any, Any]) -> AsyncIterator[AsyncClient]:
                # One client for the whole session: its connection pool outlives each request.
                yield client

            await build_server(the_client, max_artifact_bytes=max_artifact_bytes).run_stdio_async()

    anyio.run(serve)
