"""The rules of the policy file as guards over a ``PolicyContext`` (each ``check`` raises to refuse)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from spell.bundle.manifest import Effect, SpellManifest
from spell.errors import PolicyViolation

__all__ = [
    "POLICY_FILE_HINT",
    "RISK_ORDER",
    "DefaultGuard",
    "EffectsGuard",
    "ExecutionGuard",
    "MaxRiskGuard",
    "NameListGuard",
    "PolicyContext",
    "SignatureGuard",
]

RISK_ORDER: dict[str, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}


@dataclass(frozen=True)
class PolicyContext:
    """What the policy looks at.

    ``spell_id`` (``publisher/name``) and ``publisher`` (the part before the first ``/``); ``risk``
    (low|medium|high|critical) and ``execution`` (host|docker|wasm|builtin|api) from the manifest;
    ``effects`` the manifest's declared effects; ``signature_status`` the outcome of signature
    verification (verified|unsigned|untrusted|invalid, or skipped/None when not checked).
    """

    spell_id: str
    publisher: str
    risk: str
    execution: str
    effects: tuple[Effect, ...] = ()
    signature_status: str | None = None

    @classmethod
    def from_manifest(cls, manifest: SpellManifest, *, signature_status: str | None = None) -> PolicyContext:
        """Build the context of casting ``manifest``."""
        return cls(
            spell_id=manifest.id,
            publisher=manifest.publisher,
            risk=manifest.risk,
            execution=manifest.runtime.execution,
            effects=manifest.effects,
            signature_status=signature_status,
        )


POLICY_FILE_HINT = "see `spell policy show`; change it with `spell policy set --file FILE`"


def _deny(
    reason: str, rule: str, ctx: PolicyContext, *, hint: str = POLICY_FILE_HINT, **extra: object
) -> PolicyViolation:
    return PolicyViolation(
        f"policy denied: {reason}",
        details={"reason": reason, "rule": rule, "spell_id": ctx.spell_id, **extra},
        hint=hint,
    )


@dataclass(frozen=True)
class NameListGuard:
    """``<section>.deny`` then ``<section>.allow`` (None: no allow list) over the spell id or publisher."""

    section: Literal["spells", "publishers"]
    allow: tuple[str, ...] | None
    deny: tuple[str, ...] = ()

    def check(self, ctx: PolicyContext) -> None:
        """Refuse a denied name, or one missing from a given allow list."""
        kind, name = ("spell", ctx.spell_id) if self.section == "spells" else ("publisher", ctx.publisher)
        if name in self.deny:
            raise _deny(f"{kind} '{name}' is denied", f"{self.section}.deny", ctx)
        if self.allow is not None and name not in self.allow:
            raise _deny(f"{kind} '{name}' is not allowed", f"{self.section}.allow", ctx)


@dataclass(frozen=True)
class MaxRiskGuard:
    """``max_risk``."""

    max_risk: str

    def check(self, ctx: PolicyContext) -> None:
        """Refuse a spell riskier than the maximum."""
        if RISK_ORDER.get(ctx.risk, 99) > RISK_ORDER[self.max_risk]:
            raise _deny(f"risk '{ctx.risk}' exceeds max_risk '{self.max_risk}'", "max_risk", ctx)


@dataclass(frozen=True)
class ExecutionGuard:
    """The runtime allow-list: a policy file's ``runtime.allow_execution``, and a server's enabled
    runtimes (checked at publish and at every cast), which name their own ``rule`` and ``hint``."""

    allowed: tuple[str, ...]
    rule: str = "runtime.allow_execution"
    hint: str = POLICY_FILE_HINT

    def check(self, ctx: PolicyContext) -> None:
        """Refuse an execution kind that is not listed."""
        if ctx.execution not in self.allowed:
            reason = f"runtime execution '{ctx.execution}' is not allowed"
            raise _deny(
                reason, self.rule, ctx, hint=self.hint, execution=ctx.execution, allowed=sorted(self.allowed)
            )


@dataclass(frozen=True)
class EffectsGuard:
    """``effects.deny_mutations``, then ``deny_types``, then ``allow_types`` (None: no allow list)."""

    allow_types: tuple[str, ...] | None = None
    deny_types: tuple[str, ...] = ()
    deny_mutations: bool = False

    def check(self, ctx: PolicyContext) -> None:
        """Refuse mutating, denied or unlisted effect types."""
        for effect in ctx.effects if self.deny_mutations else ():
            if effect.mutates:
                reason = (
                    f"effect type '{effect.type}' mutates target '{effect.target}' and mutations are denied"
                )
                raise _deny(reason, "effects.deny_mutations", ctx)
        for effect in ctx.effects:
            if effect.type in self.deny_types:
                raise _deny(f"effect type '{effect.type}' is denied", "effects.deny_types", ctx)
        for effect in ctx.effects:
            if self.allow_types is not None and effect.type not in self.allow_types:
                raise _deny(f"effect type '{effect.type}' is not allowed", "effects.allow_types", ctx)


@dataclass(frozen=True)
class SignatureGuard:
    """``signature.require_verified``."""

    def check(self, ctx: PolicyContext) -> None:
        """Refuse anything but a verified signature."""
        if ctx.signature_status != "verified":
            status = ctx.signature_status or "unknown"
            reason = f"signature status '{status}' is not allowed (verified required)"
            raise _deny(reason, "signature.require_verified", ctx)


@dataclass(frozen=True)
class DefaultGuard:
    """``default``: with ``deny``, only spells or publishers on an allow list pass."""

    default: str
    spells_allow: tuple[str, ...] = ()
    publishers_allow: tuple[str, ...] = ()

    def check(self, ctx: PolicyContext) -> None:
        """Apply the default decision to whatever no explicit allow entry covers."""
        if self.default == "allow":
            return
        if ctx.spell_id in self.spells_allow or ctx.publisher in self.publishers_allow:
            return
        raise _deny("default policy is deny", "default", ctx)
