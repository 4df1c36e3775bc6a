"""Supply chain: the operator's advisory imports and re-scans; a publisher's notices and notice webhook."""

from __future__ import annotations

from fastapi import APIRouter, Request

from spell.api.deps import CurrentPlatform, CurrentPrincipal, blocking
from spell.api.routing import GuardedRoute
from spell.platform.auth.schemas import Principal
from spell.platform.server import Platform
from spell.platform.supply.advisories import ImportResult
from spell.platform.supply.rescan import ScanResult
from spell.platform.supply.schemas import (
    AdvisoryImportOut,
    AdvisoryList,
    AdvisoryOut,
    NoticeList,
    NoticeOut,
    PublisherWebhookOut,
    PublisherWebhookUpdate,
    ScanOut,
)

router = APIRouter(route_class=GuardedRoute, tags=["supply"])

_UPLOAD = {
    "requestBody": {
        "required": True,
        "content": {
            "application/zip": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
        },
    }
}


def _scan_out(scan: ScanResult) -> ScanOut:
    return ScanOut.model_validate(scan.to_dict())


def _import_out(result: ImportResult) -> AdvisoryImportOut:
    return AdvisoryImportOut.model_validate(result.to_dict())


@router.post("/v1/admin/advisories", response_model=AdvisoryImportOut, openapi_extra=_UPLOAD)
async def import_advisories(
    request: Request, principal: CurrentPrincipal, platform: CurrentPlatform
) -> AdvisoryImportOut:
    """Operator: import OSV advisories, then re-scan every published version against them.

    The body is a zip of OSV JSON files as osv.dev publishes per ecosystem (``application/zip``) or a
    JSON list of OSV records. A record not newer (``modified``) than the server's copy changes nothing.
    Newly vulnerable versions are flagged and their makers notified; the answer holds both counts.
    Needs the ``operator`` scope (operator or admin role) or an admin credential.
    """
    data = await request.body()
    media_type = request.headers.get("content-type", "application/json").split(";", 1)[0].strip().lower()
    return await blocking(_import, platform, principal, data, media_type)


def _import(platform: Platform, principal: Principal, data: bytes, media_type: str) -> AdvisoryImportOut:
    with platform.db.unit_of_work() as uow:
        return _import_out(platform.advisories.import_upload(uow, principal, data, media_type=media_type))


@router.get("/v1/admin/advisories", response_model=AdvisoryList)
def list_advisories(principal: CurrentPrincipal, platform: CurrentPlatform, limit: int = 100) -> AdvisoryList:
    """Operator: the advisories held, most recently imported first."""
    with platform.db.unit_of_work(write=False) as uow:
        rows = platform.advisories.held(uow, principal, limit=limit)
        return AdvisoryList(items=[AdvisoryOut.from_row(row) for row in rows])


@router.post("/v1/admin/advisories/rescan", response_model=ScanOut)
def rescan_versions(principal: CurrentPrincipal, platform: CurrentPlatform) -> ScanOut:
    """Operator: re-scan every published version against the advisories held, now."""
    with platform.db.unit_of_work() as uow:
        return _scan_out(platform.supply_scan.rescan_for(uow, principal))


@router.get("/v1/publishers/{publisher}/notices", response_model=NoticeList)
def list_notices(
    publisher: str, principal: CurrentPrincipal, platform: CurrentPlatform, limit: int = 50
) -> NoticeList:
    """What re-scans told the publisher about its versions (flagged, delisted, cleared), newest first.

    The publisher's own tenant only (403 ``TENANT_FORBIDDEN`` for others); needs ``spell:publish``.
    """
    with platform.db.unit_of_work(write=False) as uow:
        rows = platform.supply_notices.of_publisher(uow, principal, publisher, limit=limit)
        return NoticeList(items=[NoticeOut.from_row(row) for row in rows])


@router.put("/v1/publishers/{publisher}/webhook", response_model=PublisherWebhookOut)
def set_publisher_webhook(
    publisher: str, body: PublisherWebhookUpdate, principal: CurrentPrincipal, platform: CurrentPlatform
) -> PublisherWebhookOut:
    """Where the publisher's notices are posted (``{"url": null}``: nowhere), signed with your tenant's
    webhook secret like cast webhooks, through the durable outbox (event types ``supply.flagged``,
    ``supply.delisted``, ``supply.cleared``, ``supply.suspended``). The URL follows the webhook egress rules
    (403 ``EGRESS_DENIED``)."""
    return PublisherWebhookOut.from_row(platform.supply_notices.set_webhook(principal, publisher, body.url))
