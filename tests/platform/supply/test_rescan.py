"""Re-scans: a later advisory import flags a published version and tells its maker (a notice and a
signed webhook); the grace period runs on the injected clock before the version is delisted; a fix
(the advisory withdrawn, or the version out of its range) clears it. A delisted version is no longer
the default nor listed, yet casts by exact version; casters see the flag."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select
from standardwebhooks import Webhook

from spell.kit.clock import FakeClock
from spell.models import AuditRecord, SpellVersion, WebhookDelivery
from spell.models.supply import SupplyFinding, SupplyNotice, VersionSbom
from spell.platform.server import Platform
from spell.platform.supply.repository import SupplyRepository
from spell.platform.supply.rescan import ScanResult
from tests.fakes.webhook_receiver import Receiver
from tests.fixtures.server import Caller, seed_maker
from tests.platform.supply.helpers import MEDIUM, osv, publish_with_sbom, records

pytestmark = pytest.mark.anyio

GRACE = timedelta(days=14)


def _import(platform: Platform, *items: dict[str, Any]) -> ScanResult:
    with platform.db.unit_of_work() as uow:
        scan = platform.advisories.import_records(uow, records(*items)).scan
    assert scan is not None
    return scan


def _version(platform: Platform, version_id: str) -> SpellVersion:
    with platform.db.unit_of_work(write=False) as uow:
        row = uow.session.get(SpellVersion, version_id)
        assert row is not None
        return row


def _notices(platform: Platform) -> list[str]:
    with platform.db.unit_of_work(write=False) as uow:
        rows = uow.session.scalars(select(SupplyNotice).order_by(SupplyNotice.created_at, SupplyNotice.id))
        return [f"{row.kind} {row.spell_id}@{row.version}" for row in rows]


async def _hooked_maker(client: httpx.AsyncClient, platform: Platform, receiver: Receiver) -> Caller:
    maker = await seed_maker(client, platform)
    response = await client.put(
        "/v1/publishers/acme/webhook", headers=maker.headers, json={"url": receiver.url}
    )
    assert response.status_code == 200, response.text
    return maker


def _delivery(receiver: Receiver, index: int) -> tuple[dict[str, str], bytes]:
    """The ``index``-th request the receiver got, once it arrived."""
    while len(receiver.requests) <= index:
        assert receiver.arrived.wait(10)
        receiver.arrived.clear()
    return receiver.requests[index]


def _supply_deliveries(platform: Platform) -> list[WebhookDelivery]:
    with platform.db.unit_of_work(write=False) as uow:
        rows = list(
            uow.session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.event_type.like("supply.%"))
                .order_by(WebhookDelivery.id)
            )
        )
        uow.session.expunge_all()
        return rows


def _recorded(platform: Platform, delivery_id: str, attempts: int) -> WebhookDelivery:
    """The delivery once its ``attempts``-th attempt is recorded (just after the receiver answered)."""
    for _ in range(200):
        with platform.db.unit_of_work(write=False) as uow:
            row = uow.session.get(WebhookDelivery, delivery_id)
            assert row is not None
            if row.attempt_count >= attempts:
                uow.session.expunge(row)
                return row
        time.sleep(0.05)
    raise AssertionError(f"attempt {attempts} of {delivery_id} was never recorded")


async def _cast(
    client: httpx.AsyncClient, caller: Caller, key: str, version: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"input": {"name": "x"}}
    if version is not None:
        body["version"] = version
    response = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**caller.headers, "Idempotency-Key": key, "Prefer": "wait=20"},
        json=body,
    )
    assert response.status_code in (200, 201), response.text
    cast: dict[str, Any] = response.json()
    return cast


async def test_a_later_advisory_import_flags_a_published_version_and_tells_its_maker(
    client: httpx.AsyncClient, platform: Platform, clock: FakeClock, tmp_path: Path, receiver: Receiver
) -> None:
    maker = await _hooked_maker(client, platform, receiver)
    version = await publish_with_sbom(client, platform, maker, tmp_path)
    assert _import(platform, osv("RUSTSEC-2099-0001", name="tokio")).flagged == ()

    scan = _import(platform, osv("RUSTSEC-2099-0002"))

    assert (scan.scanned, scan.new_findings, scan.flagged) == (1, 1, ("acme/hello@1.0.0",))
    row = _version(platform, version.id)
    assert (row.flagged_at, row.delist_at, row.delisted_at) == (clock.now(), clock.now() + GRACE, None)
    notices = (await client.get("/v1/publishers/acme/notices", headers=maker.headers)).json()["items"]
    assert [(n["kind"], n["spell_id"], n["version"]) for n in notices] == [("flagged", "acme/hello", "1.0.0")]
    (finding,) = notices[0]["details"]["findings"]
    assert (finding["advisory_id"], finding["component"], finding["blocking"]) == (
        "RUSTSEC-2099-0002",
        "pkg:cargo/serde@1.0.100",
        True,
    )
    headers, body = _delivery(receiver, 0)
    secret = (await client.get("/v1/webhooks/secret", headers=maker.headers)).json()["secret"]
    delivered = Webhook(secret).verify(body, headers)
    assert (delivered["type"], headers["Spell-Event"]) == ("supply.flagged", "supply.flagged")
    assert delivered["data"]["id"] == notices[0]["id"]
    detail = (await client.get("/v1/spells/acme/hello", headers=maker.headers)).json()
    assert detail["latest"]["flagged_at"] is not None
    assert detail["latest"]["delisted_at"] is None
    with platform.db.unit_of_work(write=False) as uow:
        (audit,) = uow.session.scalars(select(AuditRecord).where(AuditRecord.action == "supply.flagged"))
    assert (audit.subject, audit.data) == ("acme/hello@1.0.0", {"advisories": ["RUSTSEC-2099-0002"]})


async def test_the_grace_period_runs_on_the_clock_then_the_version_is_delisted_but_castable_by_name(
    client: httpx.AsyncClient, platform: Platform, clock: FakeClock, tmp_path: Path, receiver: Receiver
) -> None:
    maker = await _hooked_maker(client, platform, receiver)
    await publish_with_sbom(client, platform, maker, tmp_path, components={"serde": "1.0.200"})
    newest = await publish_with_sbom(client, platform, maker, tmp_path, version="1.1.0")
    assert _import(platform, osv("RUSTSEC-2099-0003")).flagged == ("acme/hello@1.1.0",)
    _delivery(receiver, 0)
    assert (await _cast(client, maker, "flagged"))["version"] == "1.1.0"  # flagged: still the default

    clock.advance((GRACE - timedelta(seconds=1)).total_seconds())
    assert platform.supply_scan.run(platform.db).delisted == ()
    clock.advance(1)
    assert platform.supply_scan.run(platform.db).delisted == ("acme/hello@1.1.0",)
    assert platform.supply_scan.run(platform.db) == ScanResult(scanned=2)  # told once

    assert _version(platform, newest.id).delisted_at == clock.now()
    assert _notices(platform) == ["flagged acme/hello@1.1.0", "delisted acme/hello@1.1.0"]
    headers, body = _delivery(receiver, 1)
    assert (headers["Spell-Event"], json.loads(body)["data"]["kind"]) == ("supply.delisted", "delisted")
    assert (await _cast(client, maker, "default"))["version"] == "1.0.0"
    pinned = await _cast(client, maker, "pinned", version="1.1.0")
    assert (pinned["version"], pinned["status"]) == ("1.1.0", "succeeded")
    listed = (await client.get("/v1/spells", headers=maker.headers)).json()["items"]
    assert "acme/hello" not in [spell["id"] for spell in listed]
    versions = (await client.get("/v1/spells/acme/hello/versions", headers=maker.headers)).json()["items"]
    assert [(v["version"], v["delisted_at"] is not None) for v in versions] == [
        ("1.1.0", True),
        ("1.0.0", False),
    ]


async def test_a_withdrawn_advisory_clears_a_delisted_version_and_lists_it_again(
    client: httpx.AsyncClient, platform: Platform, clock: FakeClock, tmp_path: Path, receiver: Receiver
) -> None:
    maker = await _hooked_maker(client, platform, receiver)
    version = await publish_with_sbom(client, platform, maker, tmp_path)
    _import(platform, osv("GHSA-w", modified="2026-01-01T00:00:00Z"))
    clock.advance(GRACE.total_seconds())
    assert platform.supply_scan.run(platform.db).delisted == ("acme/hello@1.0.0",)

    withdrawn = osv("GHSA-w", modified="2026-02-01T00:00:00Z", withdrawn="2026-02-01T00:00:00Z")
    scan = _import(platform, withdrawn)

    assert (scan.cleared, scan.resolved_findings) == (("acme/hello@1.0.0",), 1)
    row = _version(platform, version.id)
    assert (row.flagged_at, row.delist_at, row.delisted_at) == (None, None, None)
    assert _notices(platform)[-1] == "cleared acme/hello@1.0.0"
    with platform.db.unit_of_work(write=False) as uow:
        (finding,) = uow.session.scalars(select(SupplyFinding))
    assert finding.resolved_at == clock.now()
    listed = (await client.get("/v1/spells", headers=maker.headers)).json()["items"]
    assert [spell["id"] for spell in listed] == ["acme/hello"]
    assert (await _cast(client, maker, "again"))["version"] == "1.0.0"
    # The outbox sends due deliveries in parallel: their order of arrival is not the events' order.
    events = {json.loads(_delivery(receiver, i)[1])["type"] for i in range(3)}
    assert events == {"supply.flagged", "supply.delisted", "supply.cleared"}


async def test_a_version_out_of_the_narrowed_range_is_cleared_and_a_match_again_reopens_its_finding(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish_with_sbom(client, platform, maker, tmp_path)
    _import(platform, osv("GHSA-n", modified="2026-01-01T00:00:00Z"))
    narrowed = _import(platform, osv("GHSA-n", fixed="1.0.50", modified="2026-02-01T00:00:00Z"))
    assert (narrowed.cleared, narrowed.resolved_findings) == (("acme/hello@1.0.0",), 1)
    widened = _import(platform, osv("GHSA-n", modified="2026-03-01T00:00:00Z"))
    assert (widened.flagged, widened.new_findings) == (("acme/hello@1.0.0",), 1)
    with platform.db.unit_of_work(write=False) as uow:
        (finding,) = uow.session.scalars(select(SupplyFinding))
    assert finding.resolved_at is None
    assert _notices(platform) == [
        "flagged acme/hello@1.0.0",
        "cleared acme/hello@1.0.0",
        "flagged acme/hello@1.0.0",
    ]


async def test_an_advisory_below_the_block_score_is_a_finding_that_flags_nothing(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish_with_sbom(client, platform, maker, tmp_path)
    scan = _import(platform, osv("GHSA-m", vector=MEDIUM), osv("GHSA-u", name="serde", vector=None))
    assert (scan.new_findings, scan.flagged) == (2, ())
    with platform.db.unit_of_work(write=False) as uow:
        assert {(f.advisory_id, f.blocking) for f in uow.session.scalars(select(SupplyFinding))} == {
            ("GHSA-m", False),
            ("GHSA-u", False),
        }
    assert _notices(platform) == []


async def test_a_receiver_that_fails_gets_the_notice_again_on_the_outbox_schedule_and_the_flag_stands(
    client: httpx.AsyncClient, platform: Platform, clock: FakeClock, tmp_path: Path
) -> None:
    failing = Receiver(statuses=[503])
    try:
        maker = await _hooked_maker(client, platform, failing)
        await publish_with_sbom(client, platform, maker, tmp_path)
        assert _import(platform, osv("GHSA-b")).flagged == ("acme/hello@1.0.0",)
        _delivery(failing, 0)
        assert _notices(platform) == ["flagged acme/hello@1.0.0"]
        (pending,) = _supply_deliveries(platform)
        delivery = _recorded(platform, pending.id, 1)
        assert (delivery.status, delivery.last_status_code) == ("pending", 503)
        clock.advance(3600)
        platform.webhooks.wakeup.set()
        headers, body = _delivery(failing, 1)
        assert headers["webhook-id"] == delivery.id
        assert json.loads(body)["type"] == "supply.flagged"
        assert _recorded(platform, delivery.id, 2).status == "delivered"
    finally:
        failing.close()


async def test_a_tenant_endpoint_taking_supply_events_hears_of_the_flag_with_no_publisher_hook(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, receiver: Receiver
) -> None:
    maker = await seed_maker(client, platform)
    response = await client.post(
        "/v1/webhooks/endpoints",
        headers=maker.headers,
        json={"url": receiver.url, "events": ["supply.flagged"]},
    )
    assert response.status_code == 201, response.text
    await publish_with_sbom(client, platform, maker, tmp_path)
    assert _import(platform, osv("GHSA-e")).flagged == ("acme/hello@1.0.0",)
    headers, body = _delivery(receiver, 0)
    delivered = Webhook(response.json()["secret"]).verify(body, headers)
    assert (delivered["type"], delivered["data"]["spell_id"]) == ("supply.flagged", "acme/hello")


async def test_a_scan_that_rolls_back_queues_no_webhook(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, receiver: Receiver
) -> None:
    maker = await _hooked_maker(client, platform, receiver)
    await publish_with_sbom(client, platform, maker, tmp_path)

    def import_then_fail() -> None:
        with platform.db.unit_of_work() as uow:
            assert platform.advisories.import_records(uow, records(osv("GHSA-r"))).scan is not None
            raise RuntimeError("the import's transaction fails after the flag")

    with pytest.raises(RuntimeError):
        import_then_fail()
    assert _notices(platform) == []
    assert _supply_deliveries(platform) == []
    assert receiver.requests == []


async def test_without_a_webhook_url_the_notice_is_only_recorded(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, receiver: Receiver
) -> None:
    maker = await seed_maker(client, platform)
    await publish_with_sbom(client, platform, maker, tmp_path)
    assert _import(platform, osv("GHSA-q")).flagged == ("acme/hello@1.0.0",)
    assert _notices(platform) == ["flagged acme/hello@1.0.0"]
    assert receiver.requests == []


async def test_versions_kept_without_an_sbom_are_not_scanned(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish_with_sbom(client, platform, maker, tmp_path)
    kept_none = await publish_with_sbom(client, platform, maker, tmp_path, version="1.1.0")
    with platform.db.unit_of_work() as uow:  # published before SBOMs were kept
        uow.session.execute(delete(VersionSbom).where(VersionSbom.version_id == kept_none.id))
    scan = _import(platform, osv("GHSA-s"))
    assert (scan.scanned, scan.flagged) == (1, ("acme/hello@1.0.0",))


async def test_concurrent_rescans_flag_a_version_and_tell_its_maker_once(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish_with_sbom(client, platform, maker, tmp_path)
    with platform.db.unit_of_work() as uow:  # held, not yet scanned
        (record,) = records(osv("GHSA-c"))
        SupplyRepository().put_advisory(uow, record, platform.supply_scan.clock.now(), existing=None)
    start = threading.Barrier(4)
    results: list[ScanResult] = []
    failures: list[Exception] = []

    def scan() -> None:
        start.wait(10)
        try:
            results.append(platform.supply_scan.run(platform.db))
        except Exception as exc:  # collected: the assertion below names it
            failures.append(exc)

    threads = [threading.Thread(target=scan) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert sorted(len(result.flagged) for result in results) == [0, 0, 0, 1]
    assert _notices(platform) == ["flagged acme/hello@1.0.0"]
