"""``/mcp``: the MCP server over streamable HTTP, each request acting through the REST API itself.

An MCP request's bearer token (an API key or a JWT, exactly as REST takes it) is handed to an SDK
client whose transport calls this same app in-process. Authentication, scopes, tenancy, budgets and
rate limits are therefore the REST ones by construction; nothing here reads the database. A request
without a usable credential is answered 401 before it reaches the MCP session; a refusal inside a
tool (403, 402, 429…) is a tool error carrying the catalog code.

Stateless sessions: any process of ``spell serve --processes N`` answers any request. Host and
Origin headers are checked against the ``mcp_allowed_*`` settings (DNS-rebinding protection). The MCP
SDK is imported and the server built by the app's lifespan, so an app that never serves (a test
client, the OpenAPI document) does not pay for them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spell.client import AsyncClient, RetryPolicy
from spell.config.server import ServerSettings
from spell.errors import AuthError, SpellError

if TYPE_CHECKING:
    from mcp.server.mcpserver import Context
    from mcp.server.transport_security import TransportSecuritySettings

__all__ = ["MCP_PATH", "McpEndpoint", "transport_security"]

MCP_PATH = "/mcp"

# Refusals go back to the agent at once with their retry_after: the agent decides when to retry.
_NO_RETRY = RetryPolicy(max_retries=0)


def transport_security(settings: ServerSettings) -> TransportSecuritySettings:
    """The Host and Origin allow-lists of ``/mcp``: the settings plus the public URL's own."""
    from mcp.server.transport_security import TransportSecuritySettings

    public = urlsplit(settings.public_url)
    origin = f"{public.scheme}://{public.netloc}"
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=sorted({*settings.mcp_allowed_hosts, public.netloc}),
        allowed_origins=sorted({*settings.mcp_allowed_origins, origin}),
    )


def bearer_token(headers: Headers | Any) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, or None."""
    scheme, _, token = str(headers.get("authorization") or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class _Body(httpx.AsyncByteStream):
    """A response body read as the app sends it (a cast's event stream arrives event by event)."""

    def __init__(self, chunks: asyncio.Queue[bytes | None], task: asyncio.Task[None], ended: asyncio.Event):
        self.chunks = chunks
        self.task = task
        self.ended = ended

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (chunk := await self.chunks.get()) is not None:
            yield chunk

    async def aclose(self) -> None:
        self.ended.set()
        if not self.task.done():
            self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def _scope(request: httpx.Request) -> Scope:
    url = request.url
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": url.scheme,
        "path": url.path,
        "raw_path": url.raw_path.split(b"?", 1)[0],
        "query_string": url.query,
        "root_path": "",
        "headers": [(name.lower(), value) for name, value in request.headers.raw],
        "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
        "client": ("127.0.0.1", 0),
    }


class _Exchange:
    """One request's ASGI channels: the body once, then a disconnect when the response is closed;
    the response start as a future, its body chunks in a queue (None ends it)."""

    def __init__(self, body: bytes) -> None:
        self.pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
        self.started: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self.chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.ended = asyncio.Event()

    async def receive(self) -> Message:
        if self.pending:
            return self.pending.pop()
        await self.ended.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start" and not self.started.done():
            self.started.set_result(message)
        elif message["type"] == "http.response.body":
            if message.get("body"):
                self.chunks.put_nowait(message["body"])
            if not message.get("more_body", False):
                self.chunks.put_nowait(None)

    def finish(self, exc: BaseException | None) -> None:
        if not self.started.done():
            self.started.set_exception(exc or httpx.RemoteProtocolError("the app sent no response"))
        self.chunks.put_nowait(None)


class LoopbackTransport(httpx.AsyncBaseTransport):
    """httpx requests into an ASGI app of this process, streaming the response body (httpx's own
    ``ASGITransport`` returns only once the app finished the whole response)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        exchange = _Exchange(await request.aread())
        scope = _scope(request)

        async def run() -> None:
            failure: BaseException | None = None
            try:
                await self.app(scope, exchange.receive, exchange.send)
            except BaseException as exc:  # the waiting request gets the app's failure
                failure = exc
                raise
            finally:
                exchange.finish(failure)

        task = asyncio.create_task(run())
        try:
            start = await exchange.started
        except BaseException:
            task.cancel()
            raise
        stream = _Body(exchange.chunks, task, exchange.ended)
        return httpx.Response(start["status"], headers=list(start.get("headers", [])), stream=stream)


def _unauthorized(exc: AuthError) -> JSONResponse:
    return JSONResponse(
        {"ok": False, "error": exc.to_dict()},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="spell"'},
    )


class McpEndpoint:
    """The MCP server of one app: ``mount(app)`` adds the route, ``running()`` is its lifespan."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.app: ASGIApp | None = None
        self.handler: ASGIApp | None = None

    def client(self, token: str) -> AsyncClient:
        """An SDK client acting with ``token`` through the REST API of this app."""
        if self.app is None:
            raise RuntimeError("McpEndpoint.mount(app) was not called")
        return AsyncClient(
            self.settings.public_url, token, retry=_NO_RETRY, transport=LoopbackTransport(self.app)
        )

    @asynccontextmanager
    async def _client_for_context(self, ctx: Context[Any, Any]) -> AsyncIterator[AsyncClient]:
        token = bearer_token(ctx.headers or {})
        if token is None:
            raise AuthError("missing credentials", hint="send 'Authorization: Bearer sk_live_…'")
        async with self.client(token) as client:
            yield client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            token = bearer_token(Headers(scope=scope))
            try:
                if token is None:
                    raise AuthError("missing credentials", hint="send 'Authorization: Bearer sk_live_…'")
                async with self.client(token) as client:
                    await client.me()
            except AuthError as exc:
                await _unauthorized(exc)(scope, receive, send)
                return
            except SpellError:
                pass  # a known caller /v1/me refuses otherwise (a scope): the tools answer for themselves
        if self.handler is None:
            await PlainTextResponse("the MCP endpoint is not running", status_code=503)(scope, receive, send)
            return
        await self.handler(scope, receive, send)

    def mount(self, app: Any) -> None:
        """Serve ``/mcp`` on ``app`` (GET, POST and DELETE, as streamable HTTP uses them)."""
        self.app = app
        app.add_route(MCP_PATH, self, methods=["GET", "POST", "DELETE"], include_in_schema=False)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Build the MCP server and run its session manager while the app serves (once per endpoint)."""
        from mcp.server.streamable_http_manager import StreamableHTTPASGIApp

        from spell.mcp import build_server

        server = build_server(self._client_for_context)
        # The SDK's own app is built for its session manager; the route calls that manager directly.
        server.streamable_http_app(
            stateless_http=True,
            transport_security=transport_security(self.settings),
            host="0.0.0.0",  # noqa: S104 - the allow-lists above, not this default, guard the Host header
        )
        async with server.session_manager.run():
            self.handler = StreamableHTTPASGIApp(server.session_manager)
            try:
                yield
            finally:
                self.handler = None
