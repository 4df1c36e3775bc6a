"""A caster's casts: the history with filters, one cast's page (live progress over SSE, the result,
artifact downloads), its event stream, and cancelling it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from spell.api.deps import blocking
from spell.api.sse import cast_event_stream
from spell.errors import InvalidInput
from spell.models import TERMINAL_STATUSES, CastStatus
from spell.platform.artifact.schemas import ArtifactOut
from spell.platform.auth.schemas import Principal
from spell.platform.cast.schemas import CastEventOut, CastOut
from spell.platform.server import Platform
from spell.web.routing import PageRoute
from spell.web.session import CurrentSession, PostedForm
from spell.web.templating import Pages

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 25
STATUSES = [status.value for status in CastStatus]


@dataclass(frozen=True)
class CastFilters:
    """The history's filters as the form holds them."""

    status: str = ""
    spell: str = ""
    since: str = ""
    until: str = ""

    def window(self) -> tuple[datetime | None, datetime | None]:
        """``[since 00:00 UTC, the day after until)``; ``VALIDATION_ERROR`` for a date that is not one."""
        return _day(self.since, "since"), _day(self.until, "until", after=True)


def _day(text: str, name: str, *, after: bool = False) -> datetime | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a date (YYYY-MM-DD)", details={name: text}) from None
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start + timedelta(days=1) if after else start


def _history(
    platform: Platform, principal: Principal, filters: CastFilters, cursor: str | None
) -> tuple[list[CastOut], str | None]:
    since, until = filters.window()
    rows, next_cursor = platform.casts.list_casts(
        principal,
        status=filters.status or None,
        spell_id=filters.spell or None,
        limit=PAGE_SIZE,
        cursor=cursor,
        created_from=since,
        created_before=until,
    )
    return [CastOut.from_row(row) for row in rows], next_cursor


@router.get("/casts", response_class=HTMLResponse)
async def history(
    request: Request,
    session: CurrentSession,
    status: str = "",
    spell: str = "",
    since: str = "",
    until: str = "",
    cursor: str | None = None,
) -> HTMLResponse:
    """The tenant's casts, newest first, filtered by status, spell and creation date (UTC days)."""
    platform: Platform = request.app.state.platform
    filters = CastFilters(status.strip(), spell.strip(), since.strip(), until.strip())
    casts, next_cursor = await blocking(_history, platform, session.principal, filters, cursor or None)
    pages: Pages = request.app.state.pages
    context = {"casts": casts, "next_cursor": next_cursor, "filters": filters, "statuses": STATUSES}
    return pages.render(request, "casts.html", context)


@dataclass(frozen=True)
class CastView:
    """What a cast's page shows."""

    cast: CastOut
    events: list[CastEventOut]
    artifacts: list[ArtifactOut]

    @property
    def is_terminal(self) -> bool:
        """True once the cast ended."""
        return self.cast.status in TERMINAL_STATUSES

    @property
    def logs(self) -> list[CastEventOut]:
        """The log events, in order."""
        return [event for event in self.events if event.type == "log"]

    @property
    def last_event_id(self) -> int:
        """The id the live stream resumes after."""
        return self.events[-1].id if self.events else 0


def _cast_view(platform: Platform, principal: Principal, cast_id: str) -> CastView:
    cast, events = platform.casts.events_after(principal, cast_id, 0)
    with platform.db.unit_of_work(write=False) as uow:
        signed = platform.artifacts.signed_for_cast(uow, principal, cast_id)
        artifacts = [ArtifactOut.from_signed(item) for item in signed]
    return CastView(CastOut.from_row(cast), [CastEventOut.from_row(e) for e in events], artifacts)


@router.get("/casts/{cast_id}/events")
async def cast_events(cast_id: str, request: Request, session: CurrentSession, after: int = 0) -> Response:
    """The cast's server-sent events, as ``GET /v1/casts/{id}/events`` sends them (the page's live view)."""
    platform: Platform = request.app.state.platform
    await blocking(platform.casts.get, session.principal, cast_id)  # another tenant's cast: 404 first
    resume = request.headers.get("last-event-id", "")
    start = int(resume) if resume.isdigit() and len(resume) <= 12 else max(after, 0)
    stream = cast_event_stream(request, platform, session.principal, cast_id, start)
    return StreamingResponse(stream, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@router.post("/casts/{cast_id}/cancel")
async def cancel(cast_id: str, request: Request, session: CurrentSession, form: PostedForm) -> Response:
    """Cancel a queued or running cast (409 ``ALREADY_TERMINAL`` page once it ended)."""
    del form  # checked for its CSRF token
    platform: Platform = request.app.state.platform
    await blocking(platform.casts.cancel, session.principal, cast_id)
    return RedirectResponse(f"/casts/{cast_id}", status_code=303)


@router.get("/casts/{cast_id}", response_class=HTMLResponse)
async def cast_page(cast_id: str, request: Request, session: CurrentSession) -> HTMLResponse:
    """One cast: status and live progress while it runs; the result, usage and artifacts once it ended."""
    platform: Platform = request.app.state.platform
    view = await blocking(_cast_view, platform, session.principal, cast_id)
    pages: Pages = request.app.state.pages
    return pages.render(request, "cast.html", {"view": view, "cast": view.cast})
