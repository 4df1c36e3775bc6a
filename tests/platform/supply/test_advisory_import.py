"""Importing OSV advisories: counted per record, idempotent, older copies skipped, withdrawals kept; an
audited operator action; looked up by the matcher's reading of a component."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import select

from spell.errors import InvalidInput, PermissionDenied
from spell.models import AuditRecord
from spell.models.supply import Advisory, AdvisoryPackage
from spell.platform.server import Platform
from spell.platform.supply.lookup import DatabaseAdvisories
from spell.sbom.document import Component
from tests.platform.supply.helpers import MAKER, MEDIUM, OPERATOR, osv, records

SERDE_OLD = Component("serde", "1.0.100", "pkg:cargo/serde@1.0.100")


def test_an_import_counts_new_records_and_the_same_import_again_changes_nothing(platform: Platform) -> None:
    batch = records(osv("RUSTSEC-2099-0001"), osv("RUSTSEC-2099-0002", name="tokio"))
    with platform.db.unit_of_work() as uow:
        first = platform.advisories.import_records(uow, batch)
    assert (first.added, first.updated, first.unchanged, first.withdrawn) == (2, 0, 0, 0)
    with platform.db.unit_of_work() as uow:
        again = platform.advisories.import_records(uow, batch)
    assert (again.added, again.updated, again.unchanged, again.withdrawn) == (0, 0, 2, 0)
    with platform.db.unit_of_work(write=False) as uow:
        assert len(list(uow.session.scalars(select(Advisory)))) == 2
        assert [r.id for r in DatabaseAdvisories(uow)(SERDE_OLD)] == ["RUSTSEC-2099-0001"]


def test_an_older_copy_is_skipped_and_a_newer_one_replaces_the_record_and_its_packages(
    platform: Platform,
) -> None:
    with platform.db.unit_of_work() as uow:
        platform.advisories.import_records(uow, records(osv("GHSA-1", modified="2026-02-01T00:00:00Z")))
    older = osv("GHSA-1", name="tokio", vector=MEDIUM, modified="2026-01-01T00:00:00Z")
    with platform.db.unit_of_work() as uow:
        skipped = platform.advisories.import_records(uow, records(older))
    assert (skipped.added, skipped.updated, skipped.unchanged) == (0, 0, 1)
    newer = osv("GHSA-1", name="tokio", vector=MEDIUM, modified="2026-03-01T00:00:00Z")
    with platform.db.unit_of_work() as uow:
        # The older duplicate after the newer one in the same import is skipped too.
        replaced = platform.advisories.import_records(uow, records(newer, older))
    assert (replaced.added, replaced.updated, replaced.unchanged) == (0, 1, 1)
    with platform.db.unit_of_work(write=False) as uow:
        row = uow.session.get(Advisory, "GHSA-1")
        assert row is not None
        assert (row.severity, row.score) == ("medium", 5.3)
        packages = list(uow.session.scalars(select(AdvisoryPackage)))
        assert [(p.ecosystem, p.name) for p in packages] == [("crates.io", "tokio")]
        lookup = DatabaseAdvisories(uow)
        assert lookup(SERDE_OLD) == []
        assert [r.id for r in lookup(Component("tokio", "1.0.0", "pkg:cargo/tokio@1.0.0"))] == ["GHSA-1"]


def test_a_withdrawing_record_is_counted_and_no_longer_looked_up(platform: Platform) -> None:
    with platform.db.unit_of_work() as uow:
        platform.advisories.import_records(uow, records(osv("GHSA-2")))
    withdrawn = osv("GHSA-2", modified="2026-02-01T00:00:00Z", withdrawn="2026-02-01T00:00:00Z")
    with platform.db.unit_of_work() as uow:
        result = platform.advisories.import_records(
            uow, records(withdrawn, osv("GHSA-3", withdrawn="2026-01-01T00:00:00Z"))
        )
    assert (result.added, result.updated, result.withdrawn) == (1, 1, 2)
    with platform.db.unit_of_work(write=False) as uow:
        assert DatabaseAdvisories(uow)(SERDE_OLD) == []
        assert {a.id for a in platform.advisories.held(uow)} == {"GHSA-2", "GHSA-3"}


def test_names_are_compared_as_the_ecosystem_does_and_components_without_a_purl_match_nothing(
    platform: Platform,
) -> None:
    with platform.db.unit_of_work() as uow:
        platform.advisories.import_records(
            uow, records(osv("PYSEC-1", ecosystem="PyPI", name="Foo_Bar", fixed="2.0"))
        )
    with platform.db.unit_of_work(write=False) as uow:
        lookup = DatabaseAdvisories(uow)
        assert [r.id for r in lookup(Component("foo-bar", "1.0", "pkg:pypi/foo-bar@1.0"))] == ["PYSEC-1"]
        assert lookup(Component("Foo_Bar", "1.0", None)) == []


def test_each_import_is_audited_with_its_counts_and_the_operator(platform: Platform) -> None:
    with platform.db.unit_of_work() as uow:
        platform.advisories.import_records(uow, records(osv("GHSA-4")), principal=OPERATOR)
    with platform.db.unit_of_work(write=False) as uow:
        (audit,) = uow.session.scalars(select(AuditRecord).where(AuditRecord.action == "advisories.imported"))
    assert audit.actor_id == "usr_ops"
    assert audit.data == {"added": 1, "updated": 0, "unchanged": 0, "withdrawn": 0}


def test_only_operators_import_when_a_caller_is_named(platform: Platform) -> None:
    with pytest.raises(PermissionDenied), platform.db.unit_of_work() as uow:
        platform.advisories.import_records(uow, records(osv("GHSA-5")), principal=MAKER)
    with pytest.raises(PermissionDenied), platform.db.unit_of_work() as uow:
        platform.advisories.import_upload(uow, MAKER, b"not even json", media_type="application/json")
    with pytest.raises(PermissionDenied), platform.db.unit_of_work(write=False) as uow:
        platform.advisories.held(uow, MAKER)
    with platform.db.unit_of_work(write=False) as uow:
        assert platform.advisories.held(uow) == []


def test_an_upload_is_a_zip_or_a_json_list_of_records(platform: Platform) -> None:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("GHSA-6.json", json.dumps(osv("GHSA-6")))
        archive.writestr("GHSA-7.json", json.dumps(osv("GHSA-7", name="tokio")))
    with platform.db.unit_of_work() as uow:
        zipped = platform.advisories.import_upload(
            uow, OPERATOR, packed.getvalue(), media_type="application/zip"
        )
        listed = platform.advisories.import_upload(
            uow, OPERATOR, json.dumps([osv("GHSA-8"), osv("GHSA-6")]).encode(), media_type="application/json"
        )
        single = platform.advisories.import_upload(
            uow, OPERATOR, json.dumps(osv("GHSA-9")).encode(), media_type="application/json"
        )
        untyped = platform.advisories.import_upload(
            uow, OPERATOR, packed.getvalue(), media_type="application/octet-stream"
        )
    assert (zipped.added, listed.added, listed.unchanged, single.added) == (2, 1, 1, 1)
    assert (untyped.added, untyped.unchanged) == (0, 2)


@pytest.mark.parametrize(
    ("body", "media_type"),
    [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (json.dumps([osv("GHSA-x"), {"id": "GHSA-y", "affected": "all"}]).encode(), "application/json"),
        (b"PK not a zip", "application/zip"),
    ],
)
def test_an_unreadable_upload_is_a_validation_error_and_imports_nothing(
    platform: Platform, body: bytes, media_type: str
) -> None:
    with pytest.raises(InvalidInput) as raised, platform.db.unit_of_work() as uow:
        platform.advisories.import_upload(uow, OPERATOR, body, media_type=media_type)
    assert raised.value.code == "VALIDATION_ERROR"
    with platform.db.unit_of_work(write=False) as uow:
        assert platform.advisories.held(uow) == []
