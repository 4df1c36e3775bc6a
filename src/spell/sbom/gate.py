"""The supply-chain gate: one verdict over an SBOM, the advisories that match it and the licence rules,
the same locally (``spell sbom validate``, ``spell publish``) and on the server at publish.

``check`` raises on a refusal (``SbomRequired``, ``VulnerableDependency``, ``LicenseNotAllowed``);
what does not refuse comes back as the verdict's warnings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from spell.config.supply import SupplySettings
from spell.sbom.document import Component, Sbom
from spell.sbom.osv import AdvisoryRecord

__all__ = ["AdvisoryLookup", "Finding", "GatePolicy", "LicenseProblem", "Verdict", "check", "evaluate"]

AdvisoryLookup = Callable[[Component], Iterable[AdvisoryRecord]]


@dataclass(frozen=True)
class GatePolicy:
    """What a deployment requires; ``SupplySettings`` sets it on the server."""

    sbom_required_for: tuple[str, ...] = ("public",)
    block_score: float = 7.0
    license_allow: tuple[str, ...] = ()
    license_deny: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: SupplySettings) -> GatePolicy:
        raise NotImplementedError


@dataclass(frozen=True)
class Finding:
    """An advisory matching a component."""

    component: Component
    advisory_id: str
    score: float | None
    severity: str
    summary: str
    blocking: bool

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True)
class LicenseProblem:
    """A component whose licence expression is denied, not allowed, or not valid SPDX."""

    component: Component
    expression: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True)
class Verdict:
    """What the gate found; ``refusal`` is the error ``check`` raises, None when the bundle passes."""

    sbom: Sbom | None
    sbom_required: bool
    findings: tuple[Finding, ...] = ()
    license_problems: tuple[LicenseProblem, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        raise NotImplementedError

    def raise_for_refusal(self) -> None:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError


def evaluate(
    sbom: Sbom | None, *, visibility: str, policy: GatePolicy, advisories: AdvisoryLookup
) -> Verdict:
    """The verdict for a bundle with ``sbom`` published at ``visibility``."""
    raise NotImplementedError


def check(sbom: Sbom | None, *, visibility: str, policy: GatePolicy, advisories: AdvisoryLookup) -> Verdict:
    """``evaluate``, raising the refusal if there is one; returns the passing verdict (with warnings)."""
    verdict = evaluate(sbom, visibility=visibility, policy=policy, advisories=advisories)
    verdict.raise_for_refusal()
    return verdict
