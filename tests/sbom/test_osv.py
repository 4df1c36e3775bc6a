from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from spell.errors import InvalidInput
from spell.sbom.osv import (
    parse_osv,
    severity_of,
)
from tests.sbom.osv_samples import fixture, record, semver_range


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
    assert pyyaml.aliases == ("CVE-2020-14343",)
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
