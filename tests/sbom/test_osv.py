from __future__ import annotations

import copy
import inspect
import json
import logging
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from spell.errors import InvalidInput
from spell.sbom.document import Component
from spell.sbom.osv import (
    AdvisoryRecord,
    OsvIndex,
    affects,
    lookup_key,
    normalise_name,
    parse_osv,
    read_osv,
    severity_of,
)

ASSETS = Path(__file__).parent.parent / "assets" / "osv"
FIXTURE_IDS = {
    "GHSA-8q59-q68h-6hv4",
    "GHSA-jfh8-c2jp-5v3q",
    "GHSA-vh95-rmgr-6w4m",
    "RUSTSEC-2021-0139",
    "SPELL-TEST-2024-0001",
    "SPELL-TEST-2024-0002",
    "SPELL-TEST-2024-0003",
    "SPELL-TEST-2024-0004",
}


def fixture(record_id: str) -> AdvisoryRecord:
    (path,) = ASSETS.rglob(f"{record_id}.json")
    return parse_osv(json.loads(path.read_text()), source=path.name)


def component(purl: str) -> Component:
    name, _, version = purl.rpartition("@")
    return Component(name=name.rsplit("/", 1)[-1], version=version, purl=purl)


def record(*affected: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": "TEST-1", "modified": "2024-01-01T00:00:00Z", "affected": list(affected), **fields}


def semver_range(*events: dict[str, str], ecosystem: str = "crates.io", name: str = "demo") -> dict[str, Any]:
    return {
        "package": {"ecosystem": ecosystem, "name": name},
        "ranges": [{"type": "SEMVER", "events": list(events)}],
    }


def zip_of(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*.json")):
            archive.write(path, path.name)  # osv.dev's all.zip is flat: one <ID>.json per record
    return target


# --- reading -------------------------------------------------------------------------------------


def test_a_directory_is_read_recursively_and_ignores_what_is_not_json() -> None:
    records = list(read_osv(ASSETS))

    assert {r.id for r in records} == FIXTURE_IDS
    assert len(records) == len(FIXTURE_IDS)


def test_a_zip_as_osv_dev_publishes_reads_the_same_records_as_the_directory(tmp_path: Path) -> None:
    archive = zip_of(ASSETS, tmp_path / "all.zip")

    from_zip = {r.id: r for r in read_osv(archive)}
    from_dir = {r.id: r for r in read_osv(ASSETS)}

    assert from_zip == from_dir


def test_a_single_file_holds_one_record_or_a_list_of_them(tmp_path: Path) -> None:
    one = json.loads((ASSETS / "npm" / "GHSA-vh95-rmgr-6w4m.json").read_text())
    two = json.loads((ASSETS / "PyPI" / "GHSA-8q59-q68h-6hv4.json").read_text())
    (tmp_path / "one.json").write_text(json.dumps(one))
    (tmp_path / "many.json").write_text(json.dumps([one, two]))

    assert [r.id for r in read_osv(tmp_path / "one.json")] == ["GHSA-vh95-rmgr-6w4m"]
    assert [r.id for r in read_osv(tmp_path / "many.json")] == ["GHSA-vh95-rmgr-6w4m", "GHSA-8q59-q68h-6hv4"]


def test_records_are_yielded_as_they_are_read_so_an_import_can_report_progress(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(record(semver_range({"introduced": "0"}), id="A-1")))
    (tmp_path / "b.json").write_text(json.dumps({"id": "B-1", "affected": "everything"}))

    reading = read_osv(tmp_path)

    assert inspect.isgenerator(read_osv(tmp_path))
    assert next(reading).id == "A-1"
    with pytest.raises(InvalidInput) as caught:
        next(reading)
    assert caught.value.details["file"] == "b.json"
    assert caught.value.details["id"] == "B-1"


def test_a_malformed_record_in_a_zip_names_the_archive_member(tmp_path: Path) -> None:
    target = tmp_path / "all.zip"
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr(
            "BAD-1.json", json.dumps({"id": "BAD-1", "affected": [{"package": {"ecosystem": "npm"}}]})
        )

    with pytest.raises(InvalidInput) as caught:
        list(read_osv(target))

    assert caught.value.code == "VALIDATION_ERROR"
    assert caught.value.details == {
        "id": "BAD-1",
        "file": "all.zip:BAD-1.json",
        "field": "affected[0].package.name",
    }
    assert "BAD-1" in caught.value.message
    assert "all.zip:BAD-1.json" in caught.value.message


@pytest.mark.parametrize(
    "name", ["../escape.json", "/etc/advisory.json", "nested/../../escape.json", "C:/x.json"]
)
def test_a_zip_member_named_outside_the_archive_is_refused(tmp_path: Path, name: str) -> None:
    target = tmp_path / "all.zip"
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("GOOD-1.json", json.dumps(record(id="GOOD-1")))
        archive.writestr(zipfile.ZipInfo(name), json.dumps(record(id="EVIL-1")))

    with pytest.raises(InvalidInput) as caught:
        next(read_osv(target))  # refused before any record is handed out

    assert caught.value.code == "UNSAFE_ARCHIVE"
    assert caught.value.details["member"] == name


def test_a_zip_member_that_inflates_past_the_cap_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "all.zip"
    bomb = json.dumps(record(id="BOMB-1", details=" " * (4 << 20))).encode()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("BOMB-1.json", bomb)
    assert target.stat().st_size < 64 << 10  # a few KiB on disk

    with pytest.raises(InvalidInput) as caught:
        list(read_osv(target, max_member_bytes=1 << 20))

    assert caught.value.code == "UNSAFE_ARCHIVE"
    assert caught.value.details == {"file": "all.zip:BOMB-1.json", "limit": 1 << 20}


def test_a_zip_member_whose_header_understates_its_size_is_still_bounded(tmp_path: Path) -> None:
    target = tmp_path / "all.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("BIG-1.json", json.dumps(record(id="BIG-1", details="x" * 5000)))
    raw = bytearray(target.read_bytes())
    # Rewrite the uncompressed size in both headers to 10 bytes: the reader must not trust it.
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = raw.index(signature) + offset
        raw[at : at + 4] = (10).to_bytes(4, "little")
    target.write_bytes(bytes(raw))

    with pytest.raises(InvalidInput) as caught:
        list(read_osv(target, max_member_bytes=1000))

    # Reading stops at the declared size, so the member fails its checksum instead of growing.
    assert caught.value.code == "VALIDATION_ERROR"
    assert caught.value.details == {"file": "all.zip:BIG-1.json"}


def test_a_zip_past_the_total_cap_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "all.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for i in range(3):
            archive.writestr(f"R-{i}.json", json.dumps(record(id=f"R-{i}", details="x" * 400)))

    reading = read_osv(target, max_total_bytes=1200)
    assert next(reading).id == "R-0"
    assert next(reading).id == "R-1"
    with pytest.raises(InvalidInput) as caught:
        next(reading)
    assert caught.value.code == "UNSAFE_ARCHIVE"


def test_files_past_the_caps_in_a_directory_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(record(id="A-1", details="x" * 2000)))

    with pytest.raises(InvalidInput) as too_large:
        list(read_osv(tmp_path, max_member_bytes=1000))
    with pytest.raises(InvalidInput) as too_much:
        list(read_osv(tmp_path, max_total_bytes=1000))
    with pytest.raises(InvalidInput) as single_file:
        list(read_osv(tmp_path / "a.json", max_total_bytes=1000))

    assert too_large.value.details == {"file": "a.json", "limit": 1000}
    assert too_much.value.details["limit"] == 1000
    assert single_file.value.details == {"file": "a.json", "limit": 1000}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{not json", "is not JSON"),
        (b'"a string"', "neither an OSV record"),
        (b"\xff\xfe\x00", "is not JSON"),
    ],
)
def test_a_file_that_is_not_osv_json_is_refused(tmp_path: Path, content: bytes, problem: str) -> None:
    (tmp_path / "x.json").write_bytes(content)

    with pytest.raises(InvalidInput) as caught:
        list(read_osv(tmp_path / "x.json"))

    assert caught.value.code == "VALIDATION_ERROR"
    assert caught.value.details["file"] == "x.json"
    assert problem in caught.value.message


def test_a_zip_reads_only_its_json_members(tmp_path: Path) -> None:
    target = tmp_path / "all.zip"
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("README.md", "not a record")
        archive.writestr(zipfile.ZipInfo("records.json/"), b"")  # a folder, whatever its name
        archive.writestr("records.json/R-1.json", json.dumps(record(id="R-1")))

    assert [r.id for r in read_osv(target)] == ["R-1"]


def test_a_folder_named_like_a_record_is_passed_over(tmp_path: Path) -> None:
    (tmp_path / "odd.json").mkdir()
    (tmp_path / "odd.json" / "R-1.json").write_text(json.dumps(record(id="R-1")))

    assert [r.id for r in read_osv(tmp_path)] == ["R-1"]


def test_a_zip_whose_directory_is_damaged_is_refused(tmp_path: Path) -> None:
    target = zip_of(ASSETS / "npm", tmp_path / "all.zip")
    target.write_bytes(target.read_bytes().replace(b"PK\x01\x02", b"XX\x01\x02"))

    with pytest.raises(InvalidInput) as caught:
        list(read_osv(target))

    assert caught.value.code == "VALIDATION_ERROR"
    assert "is not a readable zip" in caught.value.message


def test_a_missing_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        list(read_osv(tmp_path / "nowhere"))

    assert caught.value.code == "VALIDATION_ERROR"


def test_a_damaged_zip_member_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "all.zip"
    payload = json.dumps(record(id="CRC-1")).encode()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("CRC-1.json", payload)
    raw = target.read_bytes()
    at = raw.index(payload)
    target.write_bytes(raw[:at] + payload.replace(b"CRC-1", b"CRC-2") + raw[at + len(payload) :])

    with pytest.raises(InvalidInput) as caught:
        list(read_osv(target))

    assert caught.value.details == {"file": "all.zip:CRC-1.json"}


# --- parsing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record_id", "score", "severity", "vector_prefix"),
    [
        ("GHSA-8q59-q68h-6hv4", 9.8, "critical", "CVSS:3.1/"),
        ("GHSA-jfh8-c2jp-5v3q", 10.0, "critical", "CVSS:3.1/"),
        ("SPELL-TEST-2024-0001", 7.1, "high", "CVSS:4.0/"),  # beside a CVSS 3.1 vector scoring 6.5
        ("GHSA-vh95-rmgr-6w4m", 5.6, "medium", "CVSS:3.1/"),
        ("SPELL-TEST-2024-0004", 4.3, "medium", "AV:N/"),  # CVSS 2
        ("SPELL-TEST-2024-0003", 2.2, "low", "CVSS:3.1/"),
        ("RUSTSEC-2021-0139", None, "unknown", None),
    ],
)
def test_severity_is_the_highest_cvss_base_score_of_the_record(
    record_id: str, score: float | None, severity: str, vector_prefix: str | None
) -> None:
    advisory = fixture(record_id)

    assert advisory.score == score
    assert advisory.severity == severity
    if vector_prefix is None:
        assert advisory.vector is None
    else:
        assert advisory.vector is not None
        assert advisory.vector.startswith(vector_prefix)


def test_the_first_of_equal_or_lower_scores_is_kept() -> None:
    high = "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N"
    advisory = parse_osv(
        record(
            severity=[
                {"type": "CVSS_V4", "score": high},
                {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N"},
                {"type": "CVSS_V4", "score": high.replace("AV:N", "AV:N/E:X")},
            ]
        )
    )

    assert (advisory.score, advisory.vector) == (7.1, high)


def test_per_package_severities_count_and_other_severity_types_are_passed_over() -> None:
    advisory = parse_osv(
        record(
            {
                **semver_range({"introduced": "0"}),
                "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}],
            },
            severity=[{"type": "Ubuntu", "score": "high"}],
        )
    )

    assert (advisory.score, advisory.severity) == (7.2, "high")


@pytest.mark.parametrize(
    ("score", "rating"),
    [
        (None, "unknown"),
        (0.0, "none"),
        (0.1, "low"),
        (3.9, "low"),
        (4.0, "medium"),
        (6.9, "medium"),
        (7.0, "high"),
        (8.9, "high"),
        (9.0, "critical"),
        (10.0, "critical"),
    ],
)
def test_severity_ratings_follow_the_cvss_scale(score: float | None, rating: str) -> None:
    assert severity_of(score) == rating


def test_fields_are_read_as_published() -> None:
    advisory = fixture("SPELL-TEST-2024-0001")
    withdrawn = fixture("SPELL-TEST-2024-0002")
    pyyaml = fixture("GHSA-8q59-q68h-6hv4")

    assert advisory.modified == datetime(2024, 11, 5, 10, 14, 2, 123456, tzinfo=UTC)  # nanoseconds cut
    assert advisory.published == datetime(2024, 11, 4, 17, 30, tzinfo=UTC)
    assert advisory.withdrawn is None
    assert withdrawn.withdrawn == datetime(2024, 11, 20, 8, tzinfo=UTC)
    assert pyyaml.aliases == ("CVE-2020-14343", "PYSEC-2021-142")
    assert pyyaml.summary == "Improper Input Validation in PyYAML"
    assert pyyaml.affected[0]["package"]["purl"] == "pkg:pypi/pyyaml"


def test_the_summary_falls_back_to_the_first_line_of_the_details() -> None:
    advisory = parse_osv(record(details="First line.\nMore text."))

    assert advisory.summary == "First line."
    assert parse_osv(record()).summary == ""


def test_timestamps_without_an_offset_are_read_as_utc() -> None:
    advisory = parse_osv(record(published="2024-03-01T10:00:00", modified="2024-03-01T12:00:00+02:00"))

    assert advisory.published == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert advisory.modified == datetime(2024, 3, 1, 10, tzinfo=UTC)


def test_packages_index_every_affected_package_once_by_ecosystem_and_normalised_name() -> None:
    assert fixture("GHSA-vh95-rmgr-6w4m").packages == (("npm", "minimist"),)
    assert fixture("GHSA-jfh8-c2jp-5v3q").packages == (("Maven", "org.apache.logging.log4j:log4j-core"),)
    debian = parse_osv(
        record({"package": {"ecosystem": "Debian:12", "name": "openssl"}, "versions": ["3.0.11-1"]})
    )
    assert debian.packages == (("Debian", "openssl"),)


_VALID = record(
    {
        "package": {"ecosystem": "PyPI", "name": "demo"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0"}]}],
        "versions": ["0.9"],
    },
    severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
)


def _broken(path: str, value: Any) -> dict[str, Any]:
    broken = copy.deepcopy(_VALID)
    target: Any = broken
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = keys[-1]
    if value is _DELETE:
        del target[int(last) if last.isdigit() else last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return broken


_DELETE = object()


@pytest.mark.parametrize(
    ("broken", "field"),
    [
        (_broken("id", _DELETE), "id"),
        (_broken("id", ""), "id"),
        (_broken("id", "X" * 101), "id"),
        (_broken("id", 12), "id"),
        (_broken("aliases", "CVE-1"), "aliases"),
        (_broken("aliases", [1]), "aliases"),
        (_broken("summary", ["text"]), "summary"),
        (_broken("published", "yesterday"), "published"),
        (_broken("modified", 1700000000), "modified"),
        (_broken("affected", {"package": {}}), "affected"),
        (_broken("affected.0", "PyPI/demo"), "affected[0]"),
        (_broken("affected.0.package", "PyPI/demo"), "affected[0].package"),
        (_broken("affected.0.package.name", "x" * 301), "affected[0].package.name"),
        (_broken("affected.0.package.name", _DELETE), "affected[0].package.name"),
        (_broken("affected.0.package.ecosystem", ""), "affected[0].package.ecosystem"),
        (_broken("affected.0.versions", [1.0]), "affected[0].versions"),
        (_broken("affected.0.ranges", {}), "affected[0].ranges"),
        (_broken("affected.0.ranges.0", "0..1.0"), "affected[0].ranges[0]"),
        (_broken("affected.0.ranges.0.type", "CALVER"), "affected[0].ranges[0].type"),
        (
            _broken("affected.0.ranges.0.events.0", {"introduced": "0", "fixed": "1.0"}),
            "affected[0].ranges[0].events[0]",
        ),
        (_broken("affected.0.ranges.0.events.1", {"patched": "1.0"}), "affected[0].ranges[0].events[1]"),
        (_broken("affected.0.ranges.0.events.1", {"fixed": ""}), "affected[0].ranges[0].events[1]"),
        (_broken("affected.0.ranges.0.events.1", {"fixed": 1}), "affected[0].ranges[0].events[1]"),
        (_broken("affected.0.ranges.0.events.0", {"fixed": "0.5"}), "affected[0].ranges[0].events"),
        (_broken("severity", {"type": "CVSS_V3"}), "severity"),
        (_broken("severity.0", "CVSS:3.1/AV:N"), "severity[0]"),
        (_broken("severity.0.type", _DELETE), "severity[0]"),
        (_broken("severity.0.score", _DELETE), "severity[0].score"),
        (_broken("severity.0.score", "CVSS:3.1/AV:N/AC:L"), "severity[0].score"),
        (_broken("severity.0.type", "CVSS_V4"), "severity[0].score"),  # a 3.1 vector under the V4 type
        (_broken("severity.0.type", "CVSS_V2"), "severity[0].score"),
    ],
)
def test_a_malformed_record_is_refused_naming_the_record_and_field(
    broken: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_osv(broken)

    assert caught.value.code == "VALIDATION_ERROR"
    assert caught.value.details["field"] == field
    assert caught.value.details["id"] == (broken["id"] if isinstance(broken.get("id"), str) else None)


def test_a_bad_vector_in_a_package_severity_names_its_package() -> None:
    broken = _broken("affected.0.severity", [{"type": "CVSS_V3", "score": "nonsense"}])
    with pytest.raises(InvalidInput) as caught:
        parse_osv(broken)

    assert caught.value.details["field"] == "affected[0].severity[0].score"


def test_a_record_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_osv(["TEST-1"])  # type: ignore[arg-type]

    assert caught.value.details == {"id": None, "file": None}


# --- matching ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ("0.0.1", True),  # introduced 0.0.0-0: every release
        ("0.4.1", True),
        ("0.4.2-rc.1", True),  # a pre-release sorts before its release
        ("0.4.2", False),  # fixed is exclusive
        ("0.4.9", False),
        ("0.5.0-alpha.1", False),
        ("0.5.0", True),  # introduced is inclusive
        ("0.5.2", True),
        ("0.5.3", False),
        ("1.0.0", False),
    ],
)
def test_semver_ranges_with_two_windows(version: str, affected: bool) -> None:
    advisory = fixture("SPELL-TEST-2024-0001")

    assert affects(advisory, component(f"pkg:cargo/spell-fixture-decoder@{version}")) is affected


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ("1.1.9", False),
        ("1.2.0", True),
        ("v1.3.0", True),
        ("v1.4.1", True),
        ("v1.4.2", False),
        ("v2.0.0", False),
    ],
)
def test_last_affected_is_inclusive(version: str, affected: bool) -> None:
    advisory = fixture("SPELL-TEST-2024-0004")

    assert affects(advisory, component(f"pkg:golang/example.com/spell/fixture-http@{version}")) is affected


@pytest.mark.parametrize(
    ("version", "affected"),
    [("3.10", True), ("5.3.1", True), ("5.4b1", True), ("5.4rc1", True), ("5.4", False), ("5.4.1", False)],
)
def test_pypi_versions_are_ordered_by_pep_440(version: str, affected: bool) -> None:
    advisory = fixture("GHSA-8q59-q68h-6hv4")

    assert affects(advisory, component(f"pkg:pypi/pyyaml@{version}")) is affected


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ("2.0-alpha1", False),
        ("2.0-beta9", True),
        ("2.0", True),
        ("2.3", True),
        ("2.3.1", False),
        ("2.3.2", False),
        ("2.4", True),
        ("2.12.1", True),
        ("2.12.2", False),
        ("2.13.0", True),
        ("2.14.1", True),
        ("2.15.0", False),
        ("2.17.1", False),
    ],
)
def test_maven_versions_and_several_introduced_events_out_of_order(version: str, affected: bool) -> None:
    advisory = fixture("GHSA-jfh8-c2jp-5v3q")

    assert (
        affects(advisory, component(f"pkg:maven/org.apache.logging.log4j/log4j-core@{version}")) is affected
    )


@pytest.mark.parametrize(
    ("ecosystem", "purl", "fixed", "before_fix"),
    [
        ("crates.io", "pkg:cargo/demo", "1.0.0", "1.0.0-rc.1"),
        ("npm", "pkg:npm/demo", "1.0.0", "1.0.0-beta.2"),
        ("Go", "pkg:golang/example.com/demo", "1.0.0", "v1.0.0-rc.1"),
        ("RubyGems", "pkg:gem/demo", "1.0.0", "1.0.0.pre"),
        ("NuGet", "pkg:nuget/Demo", "1.0.0", "1.0.0-beta"),
        ("Packagist", "pkg:composer/acme/demo", "1.0.0", "1.0.0-RC1"),
        ("Maven", "pkg:maven/org.example/demo", "1.0", "1.0-SNAPSHOT"),
        ("Hex", "pkg:hex/demo", "1.0.0", "1.0.0-rc.0"),
        ("Debian", "pkg:deb/debian/demo", "1.0-1", "1.0~rc1-1"),
        ("Alpine:v3.19", "pkg:apk/alpine/demo", "1.0.0-r0", "1.0.0_rc1-r0"),
    ],
)
def test_each_ecosystem_orders_its_pre_releases_before_the_release(
    ecosystem: str, purl: str, fixed: str, before_fix: str
) -> None:
    name = {"Go": "example.com/demo", "Packagist": "acme/demo", "Maven": "org.example:demo"}.get(
        ecosystem, "demo"
    )
    advisory = parse_osv(
        record(
            {
                "package": {"ecosystem": ecosystem, "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
            }
        )
    )

    assert affects(advisory, component(f"{purl}@{before_fix}"))
    assert not affects(advisory, component(f"{purl}@{fixed}"))


@pytest.mark.parametrize(
    ("version", "affected"),
    [("0.0.8", True), ("0.2.1", False), ("1.0.0", True), ("1.2.2", True), ("1.2.3", False)],
)
def test_npm_versions_across_two_affected_entries(version: str, affected: bool) -> None:
    advisory = fixture("GHSA-vh95-rmgr-6w4m")

    assert affects(advisory, component(f"pkg:npm/minimist@{version}")) is affected


@pytest.mark.parametrize(
    ("version", "affected"),
    [("1.0.0", True), ("1.0.1", True), ("1.1.0rc1", True), ("1.1.0c1", True), ("1.1.0", False)],
)
def test_a_versions_list_matches_versions_equal_in_the_ecosystem(version: str, affected: bool) -> None:
    advisory = fixture("SPELL-TEST-2024-0003")

    assert affects(advisory, component(f"pkg:pypi/spell-fixture-cache@{version}")) is affected


@pytest.mark.parametrize(
    ("events", "version", "affected"),
    [
        ([{"introduced": "0"}, {"limit": "2.0.0"}], "1.9.9", True),
        ([{"introduced": "0"}, {"limit": "2.0.0"}], "2.0.0", False),  # limit is exclusive
        ([{"introduced": "0"}, {"limit": "2.0.0"}], "3.0.0", False),
        ([{"introduced": "0"}, {"limit": "*"}], "99.0.0", True),
        (
            [{"introduced": "1.0.0"}, {"limit": "1.5.0"}, {"limit": "3.0.0"}],
            "2.0.0",
            True,
        ),  # any limit admits
        ([{"introduced": "1.0.0"}, {"fixed": "2.0.0"}, {"limit": "1.5.0"}], "1.6.0", False),
        ([{"introduced": "1.0.0"}], "0.9.0", False),
        (
            [{"introduced": "1.0.0"}, {"fixed": "1.0.0"}],
            "1.0.0",
            False,
        ),  # a fix at the introduction closes it
    ],
)
def test_limit_events_bound_the_range(events: list[dict[str, str]], version: str, affected: bool) -> None:
    advisory = parse_osv(record(semver_range(*events)))

    assert affects(advisory, component(f"pkg:cargo/demo@{version}")) is affected


def test_a_record_without_severity_still_matches() -> None:
    assert affects(fixture("RUSTSEC-2021-0139"), component("pkg:cargo/ansi_term@0.12.1"))


def test_a_withdrawn_advisory_affects_nothing() -> None:
    withdrawn = fixture("SPELL-TEST-2024-0002")

    assert not affects(withdrawn, component("pkg:cargo/spell-fixture-decoder@0.4.1"))
    assert affects(withdrawn.affected, component("pkg:cargo/spell-fixture-decoder@0.4.1"))  # its ranges would


@pytest.mark.parametrize("package", [_DELETE, None])
def test_an_entry_without_a_package_is_kept_but_matches_nothing(package: object) -> None:
    entry: dict[str, Any] = {
        "ranges": [{"type": "GIT", "repo": "https://example.com/demo", "events": [{"introduced": "0"}]}],
        "versions": ["1.0.0"],
    }
    if package is None:
        entry["package"] = None
    advisory = parse_osv(record(entry, semver_range({"introduced": "0"})))

    assert advisory.packages == (("crates.io", "demo"),)
    assert not affects(advisory.affected[:1], component("pkg:cargo/demo@1.0.0"))
    assert affects(advisory, component("pkg:cargo/demo@1.0.0"))  # through its other entry


def test_git_ranges_are_ignored() -> None:
    advisory = parse_osv(
        record(
            {
                "package": {"ecosystem": "crates.io", "name": "demo"},
                "ranges": [
                    {"type": "GIT", "repo": "https://example.com/demo", "events": [{"introduced": "0"}]}
                ],
            }
        )
    )

    assert not affects(advisory, component("pkg:cargo/demo@1.0.0"))


def test_unreadable_versions_match_nothing_without_failing(caplog: pytest.LogCaptureFixture) -> None:
    pyyaml = fixture("GHSA-8q59-q68h-6hv4")
    bad_bound = parse_osv(
        record(
            {
                "package": {"ecosystem": "PyPI", "name": "demo"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "not a version!"}]}],
            }
        )
    )
    bad_limit = parse_osv(record(semver_range({"introduced": "0"}, {"limit": "not a version!"})))

    nuget = parse_osv(
        record(
            {
                "package": {"ecosystem": "NuGet", "name": "demo"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
            }
        )
    )

    with caplog.at_level(logging.DEBUG, logger="spell.sbom"):
        assert not affects(pyyaml, component("pkg:pypi/pyyaml@not a version!"))
        assert not affects(nuget, component("pkg:nuget/demo@abc"))  # univers raises its own error here
        assert not affects(bad_bound, component("pkg:pypi/demo@1.0"))
        assert not affects(bad_limit, component("pkg:cargo/demo@1.0.0"))

    assert "not a version!" in caplog.text


def test_an_ecosystem_without_a_version_ordering_matches_its_versions_list_only() -> None:
    advisory = parse_osv(
        record(
            {
                "package": {"ecosystem": "Pub", "name": "demo"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
                "versions": ["1.0.0"],
            }
        )
    )

    assert affects(advisory, component("pkg:pub/demo@1.0.0"))
    assert not affects(advisory, component("pkg:pub/demo@1.0.1"))


def test_an_ecosystem_suffix_scopes_nothing_and_debian_orders_epochs() -> None:
    advisory = parse_osv(
        record(
            {
                "package": {"ecosystem": "Debian:12", "name": "openssl"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u2"}]}
                ],
            }
        )
    )

    assert affects(advisory, component("pkg:deb/debian/openssl@3.0.11-1~deb12u1"))
    assert not affects(advisory, component("pkg:deb/debian/openssl@3.0.11-1"))  # ~ sorts before the release
    assert not affects(advisory, component("pkg:deb/debian/openssl@1:1.0.0-1"))  # the epoch outranks


def test_names_are_compared_as_their_ecosystem_does() -> None:
    pyyaml = fixture("GHSA-8q59-q68h-6hv4")
    scoped = parse_osv(record(semver_range({"introduced": "0"}, ecosystem="npm", name="@Babel/Core")))

    assert affects(pyyaml, Component(name="PyYAML", version="5.3", purl="pkg:pypi/PyYAML@5.3"))
    assert lookup_key(Component(name="PyYAML", version="5.3", purl="pkg:pypi/PyYAML@5.3")) == (
        "PyPI",
        "pyyaml",
    )
    assert lookup_key(component("pkg:golang/github.com/BurntSushi/toml@v1.3.2")) == (
        "Go",
        "github.com/BurntSushi/toml",
    )
    assert affects(scoped, Component(name="core", version="7.0.0", purl="pkg:npm/%40babel/core@7.0.0"))
    assert not affects(pyyaml, component("pkg:npm/pyyaml@5.3"))  # another ecosystem's package
    assert normalise_name("PyPI", "Zope.Interface__x") == "zope-interface-x"
    assert normalise_name("npm", "JSONStream") == "jsonstream"
    assert normalise_name("crates.io", "Inflector") == "Inflector"
    assert normalise_name("Go", "github.com/BurntSushi/toml") == "github.com/BurntSushi/toml"


@pytest.mark.parametrize(
    "unmatchable",
    [
        Component(name="pyyaml", version="5.3", purl=None),
        Component(name="pyyaml", version=None, purl="pkg:pypi/pyyaml"),
        Component(name="pyyaml", version="5.3", purl="pkg:pypi"),
        Component(name="pyyaml", version="5.3", purl="pkg:unknown-type/pyyaml@5.3"),
    ],
)
def test_components_without_an_ecosystem_name_and_version_match_nothing(unmatchable: Component) -> None:
    pyyaml = fixture("GHSA-8q59-q68h-6hv4")

    assert not affects(pyyaml, unmatchable)
    assert OsvIndex([pyyaml])(unmatchable) == []
    assert lookup_key(unmatchable) is None


def test_the_component_version_falls_back_to_the_purl_version() -> None:
    pyyaml = fixture("GHSA-8q59-q68h-6hv4")

    assert affects(pyyaml, Component(name="pyyaml", version=None, purl="pkg:pypi/pyyaml@5.3"))


def test_the_index_returns_the_advisories_affecting_a_component() -> None:
    index = OsvIndex(read_osv(ASSETS))

    assert len(index) == len(FIXTURE_IDS)
    assert [r.id for r in index(component("pkg:cargo/spell-fixture-decoder@0.4.1"))] == [
        "SPELL-TEST-2024-0001"
    ]
    assert [r.id for r in index(component("pkg:pypi/PyYAML@5.3.1"))] == ["GHSA-8q59-q68h-6hv4"]
    assert index(component("pkg:pypi/pyyaml@6.0.1")) == []
    assert index(component("pkg:cargo/unknown-crate@1.0.0")) == []


def test_a_record_read_twice_counts_once_as_its_last_reading() -> None:
    older = parse_osv(record(semver_range({"introduced": "0"}, {"fixed": "1.0.0"})))
    newer = parse_osv(record(semver_range({"introduced": "0"}, {"fixed": "2.0.0"})))

    index = OsvIndex([older, newer])

    assert len(index) == 1
    assert index(component("pkg:cargo/demo@1.5.0")) == [newer]
