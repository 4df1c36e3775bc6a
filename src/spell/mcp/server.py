"""``build_server(open_client)``: the Spell MCP server, every tool and resource a call of the SDK.

The server holds no platform code: each tool opens an ``AsyncClient`` with ``open_client(ctx)`` and
speaks the REST API through it. Over stdio that client is the user's profile; over HTTP it carries
the bearer token of the MCP request back into the same app, so authentication, scopes, tenancy,
budgets and rate limits are the REST ones.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from spell import __version__
from spell.bundle.input_schema import InputSchema, check_input_json
from spell.client import AsyncClient
from spell.client.models import (
    BudgetView,
    CastEvent,
    CastOut,
    EstimateOut,
    SpellDetail,
    SpellList,
    VersionOut,
    ended,
)
from spell.errors import ConfirmationRequired, SpellError, VersionNotFound
from spell.mcp.outputs import (
    CONFIRMED_RISKS,
    CastResult,
    SpellSummary,
    cast_result,
    error_result,
    ok_result,
    spell_summary,
)
from spell.mcp.resources import add_resources

__all__ = ["DEFAULT_WAIT_SECONDS", "MAX_WAIT_SECONDS", "ClientOpener", "build_server"]

#: Opens the SDK client one MCP request runs with (closed when the request ends).
ClientOpener = Callable[[Context[Any, Any]], AbstractAsyncContextManager[AsyncClient]]

DEFAULT_WAIT_SECONDS = 30
MAX_WAIT_SECONDS = 300

_READ = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
# A cast runs a program that may act on the world, and spends money: side-effecting, retried safely
# only with the same idempotency key.
_CAST = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
)
_CANCEL = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)

INSTRUCTIONS = """Spell runs signed, sandboxed, pay-per-use programs (spells).
Find one with spells_list, read spells_detail (input schema, price, risk), check spells_estimate, then
spells_cast. A cast that is still running after wait_seconds comes back with its cast_id: poll
casts_get. Artifacts are resources artifact://{cast_id}/{name}; manifests spell://{id}@{version}.
High or critical risk spells need confirm=true. Refusals are tool errors with a code (e.g.
BUDGET_CAP_EXCEEDED, INSUFFICIENT_CREDITS, RATE_LIMITED with retry_after)."""


class _Progress:
    """Maps a cast's events to progress notifications ``{cast_id, stage, message, pct}``."""

    def __init__(self, ctx: Context[Any, Any], cast_id: str) -> None:
        self.ctx = ctx
        self.cast_id = cast_id
        self.pct = 0
        self.steps = 0

    async def report(self, stage: str, message: str) -> None:
        note = {"cast_id": self.cast_id, "stage": stage, "message": message, "pct": self.pct}
        await self.ctx.report_progress(self.pct, 100, json.dumps(note, ensure_ascii=False))

    async def event(self, event: CastEvent) -> None:
        data = event.data
        if event.is_terminal:
            self.pct = 100
            error = data.get("error") if isinstance(data.get("error"), dict) else None
            message = str(error.get("message") or event.type) if error else event.type
        elif event.type == "progress":
            # Steps do not say how many follow: each one moves half the way left to 90.
            self.steps += 1
            self.pct = max(self.pct, 90 - (90 - 10) // (2**self.steps))
            message = " ".join(str(data.get(k)) for k in ("step", "event", "detail") if data.get(k))
        elif event.type == "log":
            message = str(data.get("text", ""))
        else:
            self.pct = max(self.pct, 10 if event.type == "running" else 0)
            message = event.type
        await self.report(event.type, message)


async def _version_of(client: AsyncClient, spell: SpellDetail, version: str | None) -> VersionOut:
    if version is None or version == spell.latest.version:
        return spell.latest
    for candidate in (await client.spells.versions(spell.id)).items:
        if candidate.version == version:
            return candidate
    raise VersionNotFound(
        f"{spell.id} has no version {version}", details={"spell_id": spell.id, "version": version}
    )


def _check_cast(version: VersionOut, input: Any, *, confirm: bool) -> None:
    """The checks a cast passes before it is sent: confirmation of a risky spell, then its input."""
    risk = str(version.manifest.get("risk", "low"))
    if risk in CONFIRMED_RISKS and not confirm:
        raise ConfirmationRequired(
            f"risk {risk} requires confirm=true",
            details={"risk": risk, "spell_id": version.spell_id, "version": version.version},
            hint="read spells_detail (effects, permissions), then cast again with confirm=true",
        )
    check_input_json(input)
    InputSchema.compile(version.input_schema).check(input)


async def _with_artifacts(
    client: AsyncClient, cast: CastOut, *, idempotency_key: str | None = None
) -> CastResult:
    """The cast and, once it ended, the artifacts it produced."""
    artifacts = (await client.casts.artifacts(cast.id)).items if ended(cast) else []
    return cast_result(cast, artifacts, idempotency_key=idempotency_key)


class _Tools:
    def __init__(self, open_client: ClientOpener) -> None:
        self.open_client = open_client

    async def _answer(
        self, ctx: Context[Any, Any], work: Callable[[AsyncClient], Awaitable[BaseModel]]
    ) -> CallToolResult:
        """Run ``work`` with the request's SDK client: its model as the result, a refusal as a tool error."""
        try:
            async with self.open_client(ctx) as client:
                return ok_result(await work(client))
        except SpellError as exc:
            return error_result(exc)

    async def spells_list(
        self,
        ctx: Context[Any, Any],
        search: Annotated[str | None, Field(description="words to find in names and summaries")] = None,
        tag: Annotated[str | None, Field(description="only spells with this tag")] = None,
        sort: Annotated[str, Field(description="recent, popular or price")] = "recent",
        cursor: Annotated[str | None, Field(description="next_cursor of the previous page")] = None,
        limit: Annotated[int, Field(ge=1, le=100)] = 20,
    ) -> Annotated[CallToolResult, SpellList]:
        """List the spells you may cast, one page at a time (pass next_cursor back for the next)."""
        return await self._answer(
            ctx, lambda client: client.spells.page(q=search, tag=tag, sort=sort, cursor=cursor, limit=limit)
        )

    async def spells_detail(
        self,
        ctx: Context[Any, Any],
        spell_id: Annotated[str, Field(description="publisher/name")],
        version: Annotated[str | None, Field(description="a version; the latest when left out")] = None,
    ) -> Annotated[CallToolResult, SpellSummary]:
        """A spell's manifest summary: input schema, price, risk, effects and permissions."""

        async def detail(client: AsyncClient) -> SpellSummary:
            spell = await client.spells.get(spell_id)
            return spell_summary(spell, await _version_of(client, spell, version))

        return await self._answer(ctx, detail)

    async def spells_estimate(
        self,
        ctx: Context[Any, Any],
        spell_id: Annotated[str, Field(description="publisher/name")],
        input: Annotated[Any, Field(description="the input the cast would take")] = None,
        version: str | None = None,
    ) -> Annotated[CallToolResult, EstimateOut]:
        """The most one cast can cost, and your balance in that currency."""
        return await self._answer(
            ctx, lambda client: client.spells.estimate(spell_id, version=version, input=input)
        )

    async def spells_cast(
        self,
        ctx: Context[Any, Any],
        spell_id: Annotated[str, Field(description="publisher/name")],
        input: Annotated[Any, Field(description="the input, valid against the spell's input schema")] = None,
        version: Annotated[str | None, Field(description="a version; the latest when left out")] = None,
        idempotency_key: Annotated[
            str | None, Field(description="the same key never casts twice (made when left out; returned)")
        ] = None,
        confirm: Annotated[bool, Field(description="required for high or critical risk spells")] = False,
        wait_seconds: Annotated[
            int, Field(ge=0, le=MAX_WAIT_SECONDS, description="how long to follow the cast before answering")
        ] = DEFAULT_WAIT_SECONDS,
    ) -> Annotated[CallToolResult, CastResult]:
        """Cast a spell. Progress notifications follow it; the result comes back when it ends within
        wait_seconds, else its cast_id and status (poll casts_get)."""
        key = idempotency_key or f"mcp-{secrets.token_urlsafe(18)}"
        payload = {} if input is None else input

        async def cast_and_follow(client: AsyncClient) -> CastResult:
            spell = await client.spells.get(spell_id)
            chosen = await _version_of(client, spell, version)
            _check_cast(chosen, payload, confirm=confirm)
            cast = await client.casts.create(spell.id, payload, version=chosen.version, idempotency_key=key)
            progress = _Progress(ctx, cast.id)
            if ended(cast):
                progress.pct = 100
            await progress.report(cast.status, f"cast {cast.id} {cast.status}")
            if not ended(cast):
                with anyio.move_on_after(wait_seconds):
                    async for event in client.casts.events(cast.id):
                        await progress.event(event)
                cast = await client.casts.get(cast.id)
            return await _with_artifacts(client, cast, idempotency_key=key)

        return await self._answer(ctx, cast_and_follow)

    async def casts_get(
        self,
        ctx: Context[Any, Any],
        cast_id: str,
        wait_seconds: Annotated[
            int,
            Field(
                ge=0,
                le=MAX_WAIT_SECONDS,
                description="long-poll up to this long for the end (the server holds at most its own "
                "longest wait, 60 s by default)",
            ),
        ] = 0,
    ) -> Annotated[CallToolResult, CastResult]:
        """One of your casts: its status, and once it ended its output and artifacts."""

        async def get(client: AsyncClient) -> CastResult:
            return await _with_artifacts(client, await client.casts.get(cast_id, wait=wait_seconds))

        return await self._answer(ctx, get)

    async def casts_cancel(
        self, ctx: Context[Any, Any], cast_id: str
    ) -> Annotated[CallToolResult, CastResult]:
        """Cancel a queued or running cast (an ended one answers ALREADY_TERMINAL)."""

        async def cancel(client: AsyncClient) -> CastResult:
            return cast_result(await client.casts.cancel(cast_id))

        return await self._answer(ctx, cancel)

    async def budget_get(self, ctx: Context[Any, Any]) -> Annotated[CallToolResult, BudgetView]:
        """Your budget caps, what this day, month and all time used, and your prepaid balance."""
        return await self._answer(ctx, lambda client: client.budget.get())


def build_server(open_client: ClientOpener, *, max_artifact_bytes: int = 4 * 1024 * 1024) -> MCPServer:
    """The MCP server: tools over ``open_client``'s SDK client, artifacts up to ``max_artifact_bytes``."""
    server: MCPServer = MCPServer("spell", version=__version__, instructions=INSTRUCTIONS)
    tools = _Tools(open_client)
    for fn, hints in (
        (tools.spells_list, _READ),
        (tools.spells_detail, _READ),
        (tools.spells_estimate, _READ),
        (tools.spells_cast, _CAST),
        (tools.casts_get, _READ),
        (tools.casts_cancel, _CANCEL),
        (tools.budget_get, _READ),
    ):
        server.add_tool(fn, annotations=hints, structured_output=True)
    add_resources(server, open_client, max_artifact_bytes=max_artifact_bytes)
    return server
