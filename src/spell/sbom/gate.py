"""The supply-chain gate: one verdict over an SBOM, the advisories that match it and the licence rules,
the same locally (``spell sbom validate``, ``spell publish``) and on the server at publish.

``check`` raises on a refusal, in this order: ``SbomRequired`` (no SBOM where the deployment requires
one), ``VulnerableDependency`` (an advisory at or above ``block_score``), ``LicenseNotAllowed`` (see
``spell.sbom.licenses`` for the rule). What does not refuse comes back as the verdict's warnings:
advisories below the score or without one, and components whose licence cannot be checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from spell.config.supply import SupplySettings
from spell.errors import LicenseNotAllowed, SbomRequired, SpellError, VulnerableDependency
from spell.sbom.document import Component, Sbom
from spell.sbom.licenses import UNASSERTED, LicenseRule
from spell.sbom.osv import AdvisoryRecord, affects

__all__ = ["AdvisoryLookup", "Finding", "GatePolicy", "LicenseProblem", "Verdict", "check", "evaluate"]

#: The advisories that may concern a component (by ecosystem and name); the gate keeps those whose
#: ranges match its version and that are not withdrawn.
AdvisoryLookup = Callable[[Component], Iterable[AdvisoryRecord]]

_SBOM_HINT = "an SPDX 2.3 (sbom.spdx.json) or CycloneDX 1.5/1.6 (sbom.cdx.json) document at the bundle root"


@dataclass(frozen=True)
class GatePolicy:
    """What a deployment requires; ``SupplySettings`` sets it on the server."""

    sbom_required_for: tuple[str, ...] = ("public",)
    block_score: float = 7.0
    license_allow: tuple[str, ...] = ()
    license_deny: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: SupplySettings) -> GatePolicy:
        """The policy ``SPELL_SUPPLY_*`` configures."""
        return cls(
            sbom_required_for=tuple(settings.sbom_required_for),
            block_score=settings.block_score,
            license_allow=tuple(settings.license_allow),
            license_deny=tuple(settings.license_deny),
        )


@dataclass(frozen=True)
class Finding:
    """An advisory matching a component."""

    component: Component
    advisory_id: str
    score: float | None
    severity: str
    summary: str
    blocking: bool

    def describe(self) -> str:
        """One line naming the component, the advisory and its score."""
        score = f"CVSS {self.score:g}" if self.score is not None else "no CVSS score"
        text = f"{self.component.key} is affected by {self.advisory_id} ({self.severity}, {score})"
        return f"{text}: {self.summary}" if self.summary else text

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``--json``, the API, the stored finding)."""
        return {
            "component": self.component.key,
            "name": self.component.name,
            "version": self.component.version,
            "advisory_id": self.advisory_id,
            "score": self.score,
            "severity": self.severity,
            "summary": self.summary,
            "blocking": self.blocking,
        }


@dataclass(frozen=True)
class LicenseProblem:
    """A component whose licence expression is denied, not allowed, or not valid SPDX."""

    component: Component
    expression: str
    reason: str  # invalid, denied, not_allowed

    def describe(self) -> str:
        """One line naming the component, its expression and what is wrong with it."""
        why = {"invalid": "is not a valid SPDX expression", "denied": "uses a denied licence in every way"}
        return f"{self.component.key}: licence {self.expression!r} {why.get(self.reason, 'is not allowed')}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``--json``, the API)."""
        return {"component": self.component.key, "expression": self.expression, "reason": self.reason}


@dataclass(frozen=True)
class Verdict:
    """What the gate found; ``refusal`` is the error ``check`` raises, None when the bundle passes."""

    sbom: Sbom | None
    sbom_required: bool
    findings: tuple[Finding, ...] = ()
    license_problems: tuple[LicenseProblem, ...] = ()
    warnings: tuple[str, ...] = field(default=())
    visibility: str = ""

    @property
    def blocking(self) -> tuple[Finding, ...]:
        """The findings that refuse, highest score first."""
        return tuple(f for f in self.findings if f.blocking)

    @property
    def refusal(self) -> SpellError | None:
        """The error this verdict refuses with, or None."""
        if self.sbom is None and self.sbom_required:
            spell = f"a {self.visibility} spell" if self.visibility else "this spell"
            return SbomRequired(
                f"{spell} must carry an SBOM: generate one with `spell sbom generate DIR`",
                details={"visibility": self.visibility},
                hint=_SBOM_HINT,
            )
        if blocking := self.blocking:
            worst = blocking[0]
            more = f" (and {len(blocking) - 1} more)" if len(blocking) > 1 else ""
            return VulnerableDependency(
                f"{worst.component.key} is affected by {worst.advisory_id} (CVSS {worst.score:g}){more}",
                details={"findings": [f.to_dict() for f in blocking]},
                hint="upgrade the affected components past their fixed versions and regenerate the SBOM",
            )
        if self.license_problems:
            first = self.license_problems[0]
            more = f" (and {len(self.license_problems) - 1} more)" if len(self.license_problems) > 1 else ""
            return LicenseNotAllowed(
                first.describe() + more,
                details={"license_problems": [p.to_dict() for p in self.license_problems]},
            )
        return None

    @property
    def passed(self) -> bool:
        """True when nothing refuses the bundle (it may still have warnings)."""
        return self.refusal is None

    def raise_for_refusal(self) -> None:
        """Raise ``SbomRequired``, ``VulnerableDependency`` or ``LicenseNotAllowed``, in that order."""
        if (refusal := self.refusal) is not None:
            raise refusal

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``--json``, the API); the keys are stable."""
        refusal = self.refusal
        return {
            "passed": refusal is None,
            "refusal": refusal.code if refusal is not None else None,
            "sbom_required": self.sbom_required,
            "sbom": (
                {
                    "format": self.sbom.format,
                    "spec_version": self.sbom.spec_version,
                    "components": len(self.sbom.components),
                }
                if self.sbom is not None
                else None
            ),
            "findings": [f.to_dict() for f in self.findings],
            "license_problems": [p.to_dict() for p in self.license_problems],
            "warnings": list(self.warnings),
        }


def evaluate(
    sbom: Sbom | None, *, visibility: str, policy: GatePolicy, advisories: AdvisoryLookup
) -> Verdict:
    """The verdict for a bundle with ``sbom`` published at ``visibility``."""
    required = visibility in policy.sbom_required_for
    if sbom is None:
        return Verdict(sbom=None, sbom_required=required, visibility=visibility)
    findings = _findings(sbom.components, policy, advisories)
    problems, notes = _licence_problems(sbom.components, policy)
    warnings = tuple(f.describe() for f in findings if not f.blocking) + notes
    return Verdict(
        sbom=sbom,
        sbom_required=required,
        findings=findings,
        license_problems=problems,
        warnings=warnings,
        visibility=visibility,
    )


def check(sbom: Sbom | None, *, visibility: str, policy: GatePolicy, advisories: AdvisoryLookup) -> Verdict:
    """``evaluate``, raising the refusal if there is one; returns the passing verdict (with warnings)."""
    verdict = evaluate(sbom, visibility=visibility, policy=policy, advisories=advisories)
    verdict.raise_for_refusal()
    return verdict


def _findings(
    components: Iterable[Component], policy: GatePolicy, advisories: AdvisoryLookup
) -> tuple[Finding, ...]:
    found: dict[tuple[str, str], Finding] = {}
    for component in components:
        for advisory in advisories(component):
            key = (component.key, advisory.id)
            if key in found or not affects(advisory, component):
                continue
            found[key] = Finding(
                component=component,
                advisory_id=advisory.id,
                score=advisory.score,
                severity=advisory.severity,
                summary=advisory.summary,
                # An advisory without a score cannot be weighed against the threshold: it warns.
                blocking=advisory.score is not None and advisory.score >= policy.block_score,
            )
    # Blocking first, then by score, so the refusal names the worst.
    return tuple(
        sorted(
            found.values(), key=lambda f: (not f.blocking, -(f.score or 0.0), f.component.key, f.advisory_id)
        )
    )


def _licence_problems(
    components: Iterable[Component], policy: GatePolicy
) -> tuple[tuple[LicenseProblem, ...], tuple[str, ...]]:
    rule = LicenseRule(allow=policy.license_allow, deny=policy.license_deny)
    problems: list[LicenseProblem] = []
    notes: list[str] = []
    for component in components:
        expressions = [e for e in component.licenses if e.strip() and e.strip().upper() not in UNASSERTED]
        if not expressions and rule.allow:
            notes.append(f"{component.key} declares no licence, so the allow-list cannot be checked")
        for expression in expressions:
            if (reason := rule.problem(expression)) is not None:
                problems.append(LicenseProblem(component=component, expression=expression, reason=reason))
    return tuple(problems), tuple(notes)
