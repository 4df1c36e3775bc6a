"""The supply routes: the operator's advisory import and re-scan, a publisher's notices and its notice
webhook, each refused to whom it does not belong."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from spell.models import AuditRecord
from spell.platform.server import Platform
from spell.runtimes.egress import EgressPolicy
from tests.fakes.webhook_receiver import Receiver
from tests.fixtures.server import seed_maker, seed_user
from tests.platform.supply.helpers import osv, publish_with_sbom

pytestmark = pytest.mark.anyio


async def test_an_operator_imports_advisories_and_gets_the_counts_and_the_rescan(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish_with_sbom(client, platform, maker, tmp_path)
    ops = seed_user(platform, "ops@example.com", ["operator"])
    response = await client.post(
        "/v1/admin/advisories", headers=ops.headers, json=[osv("GHSA-1"), osv("GHSA-2", name="tokio")]
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "added": 2,
        "updated": 0,
        "unchanged": 0,
        "withdrawn": 0,
        "scan": {
            "scanned": 1,
            "new_findings": 1,
            "resolved_findings": 0,
            "flagged": ["acme/hello@1.0.0"],
            "delisted": [],
            "cleared": [],
        },
    }
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("osv/GHSA-1.json", json.dumps(osv("GHSA-1")))
    zipped = await client.post(
        "/v1/admin/advisories",
        headers={**ops.headers, "Content-Type": "application/zip"},
        content=packed.getvalue(),
    )
    assert (zipped.status_code, zipped.json()["unchanged"]) == (200, 1)
    held = (await client.get("/v1/admin/advisories", headers=ops.headers)).json()["items"]
    assert sorted(a["id"] for a in held) == ["GHSA-1", "GHSA-2"]
    rescan = await client.post("/v1/admin/advisories/rescan", headers=ops.headers)
    assert (rescan.status_code, rescan.json()["scanned"], rescan.json()["flagged"]) == (200, 1, [])


async def test_advisory_routes_are_refused_to_non_operators(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    maker = await seed_maker(client, platform)
    for response in (
        await client.post("/v1/admin/advisories", headers=maker.headers, json=[osv("GHSA-1")]),
        await client.get("/v1/admin/advisories", headers=maker.headers),
        await client.post("/v1/admin/advisories/rescan", headers=maker.headers),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "ROLE_REQUIRED"


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"[{", "application/json"),
        (b'{"id": "GHSA-1", "affected": 3}', "application/json"),
        (b'"GHSA-1"', "application/json"),
        (b"not a zip", "application/zip"),
    ],
)
async def test_an_unreadable_advisory_upload_is_422(
    client: httpx.AsyncClient, platform: Platform, content: bytes, content_type: str
) -> None:
    ops = seed_user(platform, "ops@example.com", ["operator"])
    response = await client.post(
        "/v1/admin/advisories", headers={**ops.headers, "Content-Type": content_type}, content=content
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_notices_and_the_webhook_belong_to_the_publishers_tenant(
    client: httpx.AsyncClient, platform: Platform, receiver: Receiver
) -> None:
    maker = await seed_maker(client, platform)
    other = await seed_maker(client, platform, email="other@example.com", publisher="globex")
    notices = await client.get("/v1/publishers/acme/notices", headers=other.headers)
    hook = await client.put("/v1/publishers/acme/webhook", headers=other.headers, json={"url": receiver.url})
    for response in (notices, hook):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "TENANT_FORBIDDEN"
    assert (await client.get("/v1/publishers/acme/notices", headers=maker.headers)).json() == {"items": []}
    caster = seed_user(platform, "c@example.com", ["caster"])
    refused = await client.get("/v1/publishers/acme/notices", headers=caster.headers)
    assert refused.json()["error"]["code"] == "FORBIDDEN"


async def test_a_publisher_sets_and_clears_its_webhook_and_each_change_is_audited(
    client: httpx.AsyncClient, platform: Platform, receiver: Receiver
) -> None:
    maker = await seed_maker(client, platform)
    url = receiver.url + "?token=abc"
    response = await client.put("/v1/publishers/acme/webhook", headers=maker.headers, json={"url": url})
    assert response.json() == {"publisher": "acme", "url": receiver.url}  # no query string shown
    cleared = await client.put("/v1/publishers/acme/webhook", headers=maker.headers, json={"url": None})
    assert cleared.json() == {"publisher": "acme", "url": None}
    with platform.db.unit_of_work(write=False) as uow:
        rows = uow.session.scalars(
            select(AuditRecord)
            .where(AuditRecord.action == "publisher.webhook_changed")
            .order_by(AuditRecord.seq)
        )
        assert [row.data["webhook_url"] for row in rows] == [receiver.url, None]


async def test_a_webhook_url_with_credentials_or_inside_the_network_is_refused(
    client: httpx.AsyncClient, platform: Platform, receiver: Receiver
) -> None:
    maker = await seed_maker(client, platform)
    with_credentials = receiver.url.replace("http://", "http://user:pw@")
    response = await client.put(
        "/v1/publishers/acme/webhook", headers=maker.headers, json={"url": with_credentials}
    )
    assert (response.status_code, response.json()["error"]["code"]) == (422, "VALIDATION_ERROR")
    platform.supply_notices.egress = EgressPolicy()  # the default: public https only
    response = await client.put(
        "/v1/publishers/acme/webhook", headers=maker.headers, json={"url": receiver.url}
    )
    assert (response.status_code, response.json()["error"]["code"]) == (403, "EGRESS_DENIED")
    with platform.db.unit_of_work(write=False) as uow:
        assert (
            list(
                uow.session.scalars(
                    select(AuditRecord).where(AuditRecord.action == "publisher.webhook_changed")
                )
            )
            == []
        )
