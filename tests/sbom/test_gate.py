from __future__ import annotations

from collections.abc import Iterable

import pytest
from license_expression import get_spdx_licensing  # type: ignore[import-untyped]

from spell.config.supply import SupplySettings
from spell.errors import LicenseNotAllowed, SbomRequired, VulnerableDependency
from spell.sbom.document import Component, Sbom
from spell.sbom.gate import GatePolicy, LicenseProblem, Verdict, check, evaluate
from spell.sbom.licenses import license_problem
from spell.sbom.osv import AdvisoryRecord, OsvIndex, read_osv
from tests.sbom.osv_samples import ASSETS

INDEX = OsvIndex(read_osv(ASSETS))
POLICY = GatePolicy()


def component(purl: str, *licenses: str) -> Component:
    name, _, version = purl.rpartition("@")
    return Component(name=name.rsplit("/", 1)[-1], version=version, purl=purl, licenses=licenses or ("MIT",))


def sbom(*components: Component) -> Sbom:
    return Sbom(format="spdx", spec_version="2.3", path="sbom.spdx.json", document={}, components=components)


def verdict(*components: Component, policy: GatePolicy = POLICY, visibility: str = "public") -> Verdict:
    return evaluate(sbom(*components), visibility=visibility, policy=policy, advisories=INDEX)


CLEAN = (component("pkg:pypi/pyyaml@6.0.1"), component("pkg:npm/minimist@1.2.8", "MIT OR Apache-2.0"))


def test_a_clean_sbom_passes_without_warnings() -> None:
    result = check(sbom(*CLEAN), visibility="public", policy=POLICY, advisories=INDEX)

    assert result.passed
    assert result.refusal is None
    assert (result.findings, result.license_problems, result.warnings) == ((), (), ())
    assert result.to_dict() == {
        "passed": True,
        "refusal": None,
        "sbom_required": True,
        "sbom": {"format": "spdx", "spec_version": "2.3", "components": 2},
        "findings": [],
        "license_problems": [],
        "warnings": [],
    }


def test_a_public_spell_without_an_sbom_is_refused() -> None:
    result = evaluate(None, visibility="public", policy=POLICY, advisories=INDEX)

    assert not result.passed
    with pytest.raises(SbomRequired) as caught:
        result.raise_for_refusal()
    assert caught.value.code == "SBOM_REQUIRED"
    assert "spell sbom generate" in caught.value.message
    assert "public" in caught.value.message
    assert caught.value.details == {"visibility": "public"}
    assert result.to_dict()["refusal"] == "SBOM_REQUIRED"
    assert result.to_dict()["sbom"] is None


@pytest.mark.parametrize("visibility", ["private", "unlisted"])
def test_a_spell_the_deployment_does_not_require_an_sbom_of_passes_without_one(visibility: str) -> None:
    result = check(None, visibility=visibility, policy=POLICY, advisories=INDEX)

    assert result.passed
    assert not result.sbom_required


def test_the_deployment_chooses_which_visibilities_need_an_sbom() -> None:
    everyone = GatePolicy(sbom_required_for=("public", "private"))
    nobody = GatePolicy(sbom_required_for=())

    assert not evaluate(None, visibility="private", policy=everyone, advisories=INDEX).passed
    assert evaluate(None, visibility="public", policy=nobody, advisories=INDEX).passed


def test_a_critical_advisory_refuses_naming_component_advisory_and_score() -> None:
    result = verdict(component("pkg:pypi/pyyaml@5.3.1"), *CLEAN)

    with pytest.raises(VulnerableDependency) as caught:
        result.raise_for_refusal()

    assert caught.value.code == "VULNERABLE_DEPENDENCY"
    assert "pkg:pypi/pyyaml@5.3.1" in caught.value.message
    assert "GHSA-8q59-q68h-6hv4" in caught.value.message
    assert "9.8" in caught.value.message
    assert caught.value.details["findings"] == [
        {
            "component": "pkg:pypi/pyyaml@5.3.1",
            "name": "pyyaml",
            "version": "5.3.1",
            "advisory_id": "GHSA-8q59-q68h-6hv4",
            "score": 9.8,
            "severity": "critical",
            "summary": "Improper Input Validation in PyYAML",
            "blocking": True,
        }
    ]


def test_every_blocking_finding_is_listed_and_the_worst_is_named() -> None:
    result = verdict(
        component("pkg:pypi/pyyaml@5.3.1"),
        component("pkg:cargo/spell-fixture-decoder@0.4.1"),
        component("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"),
        component("pkg:npm/minimist@1.2.0"),
    )

    with pytest.raises(VulnerableDependency) as caught:
        check(result.sbom, visibility="public", policy=POLICY, advisories=INDEX)

    assert caught.value.message.startswith("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1")
    assert "GHSA-jfh8-c2jp-5v3q (CVSS 10) (and 2 more)" in caught.value.message
    assert [f["advisory_id"] for f in caught.value.details["findings"]] == [
        "GHSA-jfh8-c2jp-5v3q",
        "GHSA-8q59-q68h-6hv4",
        "SPELL-TEST-2024-0001",  # the high one, via its CVSS 4.0 vector; the withdrawn one is absent
    ]
    assert [f.advisory_id for f in result.findings if not f.blocking] == ["GHSA-vh95-rmgr-6w4m"]


def test_a_medium_advisory_publishes_with_a_warning() -> None:
    result = check(
        sbom(component("pkg:npm/minimist@1.2.0")), visibility="public", policy=POLICY, advisories=INDEX
    )

    assert result.passed
    (finding,) = result.findings
    assert (finding.advisory_id, finding.score, finding.severity, finding.blocking) == (
        "GHSA-vh95-rmgr-6w4m",
        5.6,
        "medium",
        False,
    )
    assert result.warnings == (
        "pkg:npm/minimist@1.2.0 is affected by GHSA-vh95-rmgr-6w4m (medium, CVSS 5.6): "
        "Prototype Pollution in minimist",
    )
    assert result.to_dict()["findings"][0]["blocking"] is False


def test_an_advisory_without_a_score_warns_and_never_blocks() -> None:
    result = verdict(component("pkg:cargo/ansi_term@0.12.1"), policy=GatePolicy(block_score=0.0))

    assert result.passed
    assert result.warnings == (
        "pkg:cargo/ansi_term@0.12.1 is affected by RUSTSEC-2021-0139 (unknown, no CVSS score): "
        "ansi_term is Unmaintained",
    )


@pytest.mark.parametrize(("block_score", "blocks"), [(7.0, True), (7.1, True), (7.2, False)])
def test_an_advisory_at_the_block_score_refuses(block_score: float, blocks: bool) -> None:
    result = verdict(
        component("pkg:cargo/spell-fixture-decoder@0.5.0"), policy=GatePolicy(block_score=block_score)
    )

    assert result.passed is not blocks
    assert [f.blocking for f in result.findings] == [blocks]


def test_the_lookup_may_return_candidates_only_matching_ones_become_findings() -> None:
    everything = list(INDEX.records)

    def lookup(_: Component) -> Iterable[AdvisoryRecord]:
        return everything + everything  # every advisory, twice, for every component

    result = evaluate(
        sbom(component("pkg:npm/minimist@1.2.0"), component("pkg:pypi/pyyaml@6.0.1")),
        visibility="public",
        policy=POLICY,
        advisories=lookup,
    )

    assert [(f.component.key, f.advisory_id) for f in result.findings] == [
        ("pkg:npm/minimist@1.2.0", "GHSA-vh95-rmgr-6w4m")
    ]


def test_a_vulnerable_dependency_is_raised_before_a_licence_refusal() -> None:
    result = verdict(
        component("pkg:pypi/pyyaml@5.3.1", "GPL-3.0-only"), policy=GatePolicy(license_deny=("GPL-3.0-only",))
    )

    with pytest.raises(VulnerableDependency):
        result.raise_for_refusal()
    assert [p.reason for p in result.license_problems] == ["denied"]
    assert result.to_dict()["refusal"] == "VULNERABLE_DEPENDENCY"


def test_a_denied_licence_refuses_and_lists_every_problem() -> None:
    policy = GatePolicy(license_deny=("GPL-3.0-only", "AGPL-3.0-only"))
    result = verdict(
        component("pkg:pypi/pyyaml@6.0.1", "MIT AND GPL-3.0-only"),
        component("pkg:npm/minimist@1.2.8", "MIT OR GPL-3.0-only"),
        component("pkg:cargo/spell-fixture-decoder@1.0.0", "AGPL-3.0-only", "not valid ((("),
        policy=policy,
    )

    with pytest.raises(LicenseNotAllowed) as caught:
        result.raise_for_refusal()

    assert caught.value.code == "LICENSE_NOT_ALLOWED"
    assert "pkg:pypi/pyyaml@6.0.1" in caught.value.message
    assert "(and 2 more)" in caught.value.message
    assert caught.value.details["license_problems"] == [
        {"component": "pkg:pypi/pyyaml@6.0.1", "expression": "MIT AND GPL-3.0-only", "reason": "denied"},
        {
            "component": "pkg:cargo/spell-fixture-decoder@1.0.0",
            "expression": "AGPL-3.0-only",
            "reason": "denied",
        },
        {
            "component": "pkg:cargo/spell-fixture-decoder@1.0.0",
            "expression": "not valid (((",
            "reason": "invalid",
        },
    ]


def test_an_invalid_expression_refuses_even_without_licence_lists() -> None:
    result = verdict(component("pkg:pypi/pyyaml@6.0.1", "MIT/Apache-2.0"))

    with pytest.raises(LicenseNotAllowed) as caught:
        result.raise_for_refusal()
    assert "is not a valid SPDX expression" in caught.value.message


@pytest.mark.parametrize(
    ("expression", "allow", "deny", "reason"),
    [
        ("MIT OR GPL-3.0-only", (), ("GPL-3.0-only",), None),  # MIT alone complies
        ("MIT AND GPL-3.0-only", (), ("GPL-3.0-only",), "denied"),
        ("(MIT OR Apache-2.0) AND GPL-3.0-only", (), ("GPL-3.0-only",), "denied"),
        ("MIT AND (Apache-2.0 OR GPL-3.0-only)", (), ("GPL-3.0-only",), None),
        ("gpl-3.0-only", (), ("GPL-3.0-only",), "denied"),  # ids are case-insensitive
        ("GPL-3.0", (), ("GPL-3.0-only",), "denied"),  # the deprecated id reads as its successor
        ("GPL-3.0-or-later", (), ("GPL-3.0-only",), None),
        ("GPL-2.0-only WITH Classpath-exception-2.0", (), ("GPL-2.0-only",), "denied"),
        (
            "GPL-2.0-only WITH Classpath-exception-2.0",
            ("GPL-2.0-only WITH Classpath-exception-2.0",),
            (),
            None,
        ),
        ("GPL-2.0-only", ("GPL-2.0-only WITH Classpath-exception-2.0",), (), "not_allowed"),
        ("MIT OR GPL-3.0-only", ("MIT", "Apache-2.0"), (), None),
        ("GPL-3.0-only", ("MIT", "Apache-2.0"), (), "not_allowed"),
        ("MIT AND BSD-3-Clause", ("MIT", "Apache-2.0"), (), "not_allowed"),
        ("MIT AND Apache-2.0", ("mit", "apache-2.0"), (), None),
        # Allowed and not denied must hold for one same way of complying.
        ("(MIT AND GPL-3.0-only) OR Apache-2.0", ("MIT", "GPL-3.0-only"), ("GPL-3.0-only",), "not_allowed"),
        ("LicenseRef-Proprietary", (), (), None),
        ("LicenseRef-Proprietary", ("MIT",), (), "not_allowed"),
        ("Foo-1.0", (), (), "invalid"),  # neither on the SPDX list nor a LicenseRef
        ("MIT OR", (), (), "invalid"),
        ("Apache-2.0 WITH MIT", (), (), "invalid"),
        ("", (), (), "invalid"),
        ("()", (), (), "invalid"),
        ("( OR Apache-2.0", (), (), "invalid"),
        ("MIT)", (), (), "invalid"),
    ],
)
def test_licence_rules(
    expression: str, allow: tuple[str, ...], deny: tuple[str, ...], reason: str | None
) -> None:
    assert license_problem(expression, allow=allow, deny=deny) == reason


def test_long_expressions_are_judged_without_expanding_every_way() -> None:
    known = get_spdx_licensing().known_symbols
    ids = sorted(key for key, symbol in known.items() if not symbol.is_exception and key.endswith("-1.0"))[
        :48
    ]
    firsts, seconds = ids[:24], ids[24:]
    choices = " AND ".join(f"({a} OR {b})" for a, b in zip(firsts, seconds, strict=True))  # 2**24 ways

    assert license_problem(choices, allow=firsts) is None
    assert license_problem(choices, allow=firsts[1:]) == "not_allowed"
    assert license_problem(choices, deny=firsts) is None
    assert license_problem(choices, deny=(firsts[5], seconds[5])) == "denied"
    assert license_problem(" OR ".join(["MIT"] * 200)) == "invalid"  # past MAX_EXPRESSION characters


def test_unasserted_licences_are_skipped_and_noted_under_an_allow_list() -> None:
    unasserted = Component(name="x", version="1.0.0", purl="pkg:cargo/x@1.0.0", licenses=("NOASSERTION",))
    silent = Component(name="y", version="1.0.0", purl="pkg:cargo/y@1.0.0")

    assert verdict(unasserted, silent).warnings == ()
    result = verdict(unasserted, silent, policy=GatePolicy(license_allow=("MIT",)))

    assert result.passed
    assert result.warnings == (
        "pkg:cargo/x@1.0.0 declares no licence, so the allow-list cannot be checked",
        "pkg:cargo/y@1.0.0 declares no licence, so the allow-list cannot be checked",
    )


@pytest.mark.parametrize(
    ("reason", "text"),
    [
        ("invalid", "is not a valid SPDX expression"),
        ("denied", "uses a denied licence in every way"),
        ("not_allowed", "is not allowed"),
    ],
)
def test_licence_problems_describe_themselves(reason: str, text: str) -> None:
    problem = LicenseProblem(component=component("pkg:cargo/x@1.0.0"), expression="X", reason=reason)

    assert problem.describe() == f"pkg:cargo/x@1.0.0: licence 'X' {text}"


def test_the_policy_comes_from_the_supply_settings() -> None:
    settings = SupplySettings.from_env(
        {
            "SPELL_SUPPLY_SBOM_REQUIRED_FOR": "public,private",
            "SPELL_SUPPLY_BLOCK_SCORE": "9",
            "SPELL_SUPPLY_LICENSE_ALLOW": "MIT, Apache-2.0",
            "SPELL_SUPPLY_LICENSE_DENY": "GPL-3.0-only",
        }
    )

    assert GatePolicy.from_settings(settings) == GatePolicy(
        sbom_required_for=("public", "private"),
        block_score=9.0,
        license_allow=("MIT", "Apache-2.0"),
        license_deny=("GPL-3.0-only",),
    )
    assert GatePolicy.from_settings(SupplySettings()) == GatePolicy()


def test_a_verdict_built_without_a_visibility_still_explains_its_refusal() -> None:
    refusal = Verdict(sbom=None, sbom_required=True).refusal

    assert isinstance(refusal, SbomRequired)
    assert refusal.message.startswith("this spell must carry an SBOM")
