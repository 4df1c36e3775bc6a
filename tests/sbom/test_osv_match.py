from __future__ import annotations

import logging
from typing import Any

import pytest

from spell.sbom.document import Component
from spell.sbom.osv import (
    OsvIndex,
    affects,
    lookup_key,
    normalise_name,
    parse_osv,
    read_osv,
)
from tests.sbom.osv_samples import ASSETS, FIXTURE_IDS, component, fixture, record, semver_range


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


@pytest.mark.parametrize("without", [{}, {"package": None}])
def test_an_entry_without_a_package_is_kept_but_matches_nothing(without: dict[str, Any]) -> None:
    entry: dict[str, Any] = {
        "ranges": [{"type": "GIT", "repo": "https://example.com/demo", "events": [{"introduced": "0"}]}],
        "versions": ["1.0.0"],
        **without,
    }
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
