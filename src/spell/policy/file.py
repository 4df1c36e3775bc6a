"""The local policy file ``$SPELL_HOME/policy.json`` (v1, same schema as spell-runtime).

Example::

    {"version": "v1", "default": "allow",
     "spells": {"allow": ["samples/call-webhook"], "deny": ["samples/dangerous"]},
     "publishers": {"allow": ["samples"], "deny": ["blocked"]},
     "max_risk": "high",
     "runtime": {"allow_execution": ["host", "docker"]},
     "effects": {"allow_types": ["notify"], "deny_types": ["delete"], "deny_mutations": false},
     "signature": {"require_verified": false},
     "rollback": {"require_full_compensation": false}}

Unknown keys anywhere are an error. A missing file means the default policy (allow everything).
Rules are checked in spell-runtime's order and the first refusal wins: spell deny, spell allow,
publisher deny, publisher allow, max risk, runtime execution, effect mutations, denied effect types,
allowed effect types, signature, default. One deliberate difference: with ``"default": "deny"``, a
spell listed in ``spells.allow`` or whose publisher is in ``publishers.allow`` is allowed (once the
other rules pass) — an allow list that cannot allow anything would be pointless.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from spell.bundle.manifest import Effect, Execution, Risk, SpellManifest
from spell.errors import InvalidPolicyFile, PolicyViolation
from spell.policy.guards import AllOf, Guard

__all__ = [
    "DEFAULT_POLICY",
    "EffectRules",
    "ListRules",
    "PolicyContext",
    "RollbackRules",
    "RuntimePolicy",
    "RuntimeRules",
    "SignatureRules",
    "evaluate",
    "guards_for",
    "load_policy",
    "parse_policy",
    "policy_to_text",
    "read_policy_file",
    "save_policy",
]

RISK_ORDER: dict[str, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}
MAX_POLICY_BYTES = 1024 * 1024


class _Strict(BaseModel):
    # strict: "true" is not a boolean and 1 is not a string, as in spell-runtime's parser
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _names(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    cleaned = [v.strip() for v in value]
    for index, item in enumerate(cleaned):
        if not item:
            raise ValueError(f"item {index} must be a non-empty string")
    return cleaned


class ListRules(_Strict):
    """An allow list and a deny list (deny wins)."""

    allow: list[str] | None = None
    deny: list[str] | None = None

    _clean = field_validator("allow", "deny")(_names)


class RuntimeRules(_Strict):
    """Which ``runtime.execution`` values may run."""

    allow_execution: list[Execution] | None = None


class EffectRules(_Strict):
    """Which declared effect types may run, and whether mutating effects may."""

    allow_types: list[str] | None = None
    deny_types: list[str] | None = None
    deny_mutations: bool | None = None

    _clean = field_validator("allow_types", "deny_types")(_names)


class SignatureRules(_Strict):
    """``require_verified``: refuse anything but a verified signature, even with ``--allow-unsigned``."""

    require_verified: bool | None = None


class RollbackRules(_Strict):
    """``require_full_compensation``: a cast whose rollback is incomplete needs manual recovery."""

    require_full_compensation: bool | None = None


class RuntimePolicy(_Strict):
    """The whole policy file."""

    version: Literal["v1"]
    default: Literal["allow", "deny"]
    spells: ListRules | None = None
    publishers: ListRules | None = None
    max_risk: Risk | None = None
    runtime: RuntimeRules | None = None
    effects: EffectRules | None = None
    signature: SignatureRules | None = None
    rollback: RollbackRules | None = None


DEFAULT_POLICY = RuntimePolicy(version="v1", default="allow")


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


def _deny(reason: str, rule: str, ctx: PolicyContext) -> PolicyViolation:
    return PolicyViolation(
        f"policy denied: {reason}",
        details={"reason": reason, "rule": rule, "spell_id": ctx.spell_id},
        hint="see `spell policy show`; change it with `spell policy set --file FILE`",
    )


@dataclass(frozen=True)
class SpellListGuard:
    """``spells.deny`` then ``spells.allow``."""

    rules: ListRules

    def check(self, ctx: PolicyContext) -> None:
        """Refuse a denied spell, or one missing from a given allow list."""
        if self.rules.deny and ctx.spell_id in self.rules.deny:
            raise _deny(f"spell '{ctx.spell_id}' is denied", "spells.deny", ctx)
        if self.rules.allow is not None and ctx.spell_id not in self.rules.allow:
            raise _deny(f"spell '{ctx.spell_id}' is not allowed", "spells.allow", ctx)


@dataclass(frozen=True)
class PublisherListGuard:
    """``publishers.deny`` then ``publishers.allow``."""

    rules: ListRules

    def check(self, ctx: PolicyContext) -> None:
        """Refuse a denied publisher, or one missing from a given allow list."""
        if self.rules.deny and ctx.publisher in self.rules.deny:
            raise _deny(f"publisher '{ctx.publisher}' is denied", "publishers.deny", ctx)
        if self.rules.allow is not None and ctx.publisher not in self.rules.allow:
            raise _deny(f"publisher '{ctx.publisher}' is not allowed", "publishers.allow", ctx)


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
    """``runtime.allow_execution``."""

    allowed: tuple[str, ...]

    def check(self, ctx: PolicyContext) -> None:
        """Refuse an execution kind that is not listed."""
        if ctx.execution not in self.allowed:
            raise _deny(f"runtime execution '{ctx.execution}' is not allowed", "runtime.allow_execution", ctx)


@dataclass(frozen=True)
class EffectsGuard:
    """``effects.deny_mutations``, then ``deny_types``, then ``allow_types``."""

    rules: EffectRules

    def check(self, ctx: PolicyContext) -> None:
        """Refuse mutating, denied or unlisted effect types."""
        for effect in ctx.effects if self.rules.deny_mutations else ():
            if effect.mutates:
                reason = (
                    f"effect type '{effect.type}' mutates target '{effect.target}' and mutations are denied"
                )
                raise _deny(reason, "effects.deny_mutations", ctx)
        for effect in ctx.effects:
            if self.rules.deny_types is not None and effect.type in self.rules.deny_types:
                raise _deny(f"effect type '{effect.type}' is denied", "effects.deny_types", ctx)
        for effect in ctx.effects:
            if self.rules.allow_types is not None and effect.type not in self.rules.allow_types:
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


def guards_for(policy: RuntimePolicy) -> AllOf[PolicyContext]:
    """The policy as a chain of guards, in evaluation order."""
    guards: list[Guard[PolicyContext]] = []
    if policy.spells is not None:
        guards.append(SpellListGuard(policy.spells))
    if policy.publishers is not None:
        guards.append(PublisherListGuard(policy.publishers))
    if policy.max_risk is not None:
        guards.append(MaxRiskGuard(policy.max_risk))
    if policy.runtime is not None and policy.runtime.allow_execution is not None:
        guards.append(ExecutionGuard(tuple(policy.runtime.allow_execution)))
    if policy.effects is not None:
        guards.append(EffectsGuard(policy.effects))
    if policy.signature is not None and policy.signature.require_verified:
        guards.append(SignatureGuard())
    guards.append(
        DefaultGuard(
            policy.default,
            spells_allow=tuple(policy.spells.allow or ()) if policy.spells else (),
            publishers_allow=tuple(policy.publishers.allow or ()) if policy.publishers else (),
        )
    )
    return AllOf(tuple(guards))


def evaluate(policy: RuntimePolicy, context: PolicyContext) -> None:
    """Return when ``policy`` allows ``context``; raise ``PolicyViolation`` with the reason when not."""
    guards_for(policy).check(context)


def parse_policy(raw: bytes | str, *, source: str = "policy.json") -> RuntimePolicy:
    """Validate a policy document; ``InvalidPolicyFile`` names the first problem and its path."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidPolicyFile(
            f"invalid policy: failed to parse JSON: {exc}", details={"file": source}
        ) from exc
    if not isinstance(data, dict):
        raise InvalidPolicyFile("invalid policy: policy must be a JSON object", details={"file": source})
    try:
        return RuntimePolicy.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"path": ".".join(str(p) for p in err["loc"]) or "(root)", "message": err["msg"]}
            for err in exc.errors(include_url=False)
        ]
        first = problems[0]
        raise InvalidPolicyFile(
            f"invalid policy: {first['path']}: {first['message']}",
            details={"file": source, "errors": problems},
        ) from None


def read_policy_file(path: Path) -> RuntimePolicy:
    """Read and validate a policy file that must exist (``policy validate/set --file``)."""
    try:
        size = path.stat().st_size
        if size > MAX_POLICY_BYTES:
            raise InvalidPolicyFile(
                f"invalid policy: {path} is {size} bytes; the limit is {MAX_POLICY_BYTES}",
                details={"file": str(path)},
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidPolicyFile(
            f"invalid policy: failed to read {path}: {exc.strerror or exc}", details={"file": str(path)}
        ) from exc
    return parse_policy(raw, source=str(path))


def load_policy(path: Path) -> RuntimePolicy:
    """The policy at ``path``, or ``DEFAULT_POLICY`` (allow) when the file does not exist."""
    if not path.exists():
        return DEFAULT_POLICY
    return read_policy_file(path)


def policy_to_text(policy: RuntimePolicy) -> str:
    """Normalised pretty JSON with a trailing newline (absent settings left out)."""
    return json.dumps(policy.model_dump(mode="json", exclude_none=True), indent=2) + "\n"


def save_policy(path: Path, policy: RuntimePolicy) -> None:
    """Write the policy atomically (a reader sees the old file or the new one, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".policy-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(policy_to_text(policy))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
