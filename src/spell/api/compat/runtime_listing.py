"""``GET /api/spell-executions``: spell-runtime's filtered list over the tenant's casts.

Our list filters by one status and spell; spell-runtime's also by several statuses, button and time
range, up to 500 at once. The adapter reads the tenant's casts newest first, page by page, and keeps
those that match — at most ``MAX_SCANNED`` casts, so a narrow filter over a long history stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query

from spell.api.compat.access import CallerPrincipal
from spell.api.compat.errors import ApiError, CompatRoute
from spell.api.compat.runtime_executions import buttons_by_id
from spell.api.compat.shapes import RUNTIME_STATUSES, execution_summary, runtime_status
from spell.api.deps import CurrentPlatform
from spell.kit.time import to_rfc3339
from spell.models import Cast
from spell.platform.auth.schemas import Principal
from spell.platform.server import Platform

__all__ = ["MAX_SCANNED", "router"]

router = APIRouter(route_class=CompatRoute, include_in_schema=False)

DEFAULT_LIMIT, MAX_LIMIT = 100, 500
MAX_SCANNED = 5000
_PAGE = 100


@dataclass(frozen=True)
class _Query:
    statuses: frozenset[str]
    button_id: str | None
    spell_id: str | None
    limit: int
    start: datetime | None
    end: datetime | None

    def matches(self, cast: Cast) -> bool:
        created = _aware(cast.created_at)
        return (
            (not self.statuses or runtime_status(cast) in self.statuses)
            and (self.button_id is None or cast.button_id == self.button_id)
            and (self.end is None or created <= self.end)
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _time(raw: str | None, label: str) -> datetime | None:
    if raw is None or not raw.strip():
        return None
    try:
        return _aware(datetime.fromisoformat(raw.strip()))
    except ValueError:
        raise ApiError(400, "INVALID_QUERY", f"invalid {label}: expected ISO-8601 timestamp") from None


def _limit(raw: str | None) -> int:
    if raw is None or not raw.strip():
        return DEFAULT_LIMIT
    text = raw.strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise ApiError(400, "INVALID_QUERY", f"invalid limit: must be integer in range 1-{MAX_LIMIT}")
    return int(text)


def _statuses(raw: str | None) -> frozenset[str]:
    wanted = frozenset(part.strip() for part in (raw or "").split(",") if part.strip())
    for status in sorted(wanted):
        if status not in RUNTIME_STATUSES:
            raise ApiError(400, "INVALID_QUERY", f"invalid status filter: {status}")
    return wanted


def _blank(raw: str | None) -> str | None:
    return raw.strip() if raw is not None and raw.strip() else None


def _scan(platform: Platform, principal: Principal, query: _Query) -> list[Cast]:
    found: list[Cast] = []
    cursor: str | None = None
    for _ in range(MAX_SCANNED // _PAGE):
        rows, cursor = platform.casts.list_casts(
            principal, status=None, spell_id=query.spell_id, limit=_PAGE, cursor=cursor
        )
        for cast in rows:
            if query.start is not None and _aware(cast.created_at) < query.start:
                return found  # newest first: everything further is older still
            if query.matches(cast):
                found.append(cast)
                if len(found) == query.limit:
                    return found
        if cursor is None:
            break
    return found


@router.get("/api/spell-executions")
def list_executions(
    principal: CallerPrincipal,
    platform: CurrentPlatform,
    status: str | None = None,
    button_id: str | None = None,
    spell_id: str | None = None,
    tenant_id: str | None = None,
    limit: str | None = None,
    start: str | None = Query(default=None, alias="from"),
    end: str | None = Query(default=None, alias="to"),
) -> dict[str, Any]:
    """The tenant's executions, newest first: ``status`` (comma-separated), ``button_id``,
    ``spell_id``, ``tenant_id`` (only the caller's own), ``limit`` (1-500), ``from`` / ``to``."""
    query = _Query(
        statuses=_statuses(status),
        button_id=_blank(button_id),
        spell_id=_blank(spell_id),
        limit=_limit(limit),
        start=_time(start, "from"),
        end=_time(end, "to"),
    )
    if query.start is not None and query.end is not None and query.start > query.end:
        raise ApiError(400, "INVALID_QUERY", "invalid time range: from must be <= to")
    tenant = _blank(tenant_id)
    if tenant is not None and tenant != principal.tenant_id:
        raise ApiError(403, "TENANT_FORBIDDEN", f"tenant query denied: {tenant}")
    casts = _scan(platform, principal, query)
    buttons = buttons_by_id(platform, principal)
    return {
        "ok": True,
        "filters": {
            "status": sorted(query.statuses),
            "button_id": query.button_id,
            "spell_id": query.spell_id,
            "tenant_id": principal.tenant_id,
            "limit": query.limit,
            "from": to_rfc3339(query.start) if query.start else None,
            "to": to_rfc3339(query.end) if query.end else None,
        },
        "executions": [execution_summary(c, buttons.get(c.button_id or "")) for c in casts],
    }
