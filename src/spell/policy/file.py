"""The local policy file ``$SPELL_HOME/policy.json`` (v1, same schema as spell-runtime).

Example::

    {"version": "v1", "default": "allow",
     "spells": {"allow": ["samples/call-webhook"], "deny": ["samples/dangerous"]},
     "publishers": {"allow": ["samples"], "deny": ["blocked"]},
     "max_risk": "high",
     "runtime": {"allow_execution": ["host", "docker"]},
     "effects": {"allow_types": ["notify"], "deny_types": ["delete"], "deny_mutations": false},
     "signature": {"require_verified": false},
     "rollback": {"require_full_compensation": false},
     "network": {"allow_loopback": false, "allow_http": false}}

Unknown keys anywhere are an error. A missing file means the default policy (allow everything).
Rules are checked in spell-runtime's order and the first refusal wins: spell deny, spell allow,
publisher deny, publisher allow, max risk, runtime execution, effect mutations, denied effect types,
allowed effect types, signature, default. One deliberate difference: with ``"default": "deny"``, a
spell listed in ``spells.allow`` or whose publisher is in ``publishers.allow`` is allowed (once the
other rules pass) — an allow list that cannot allow anything would be pointless.

``network`` is this project's addition: host ``http`` steps and checks of local casts reach only
https, public addresses and the manifest's ``net_allow`` hosts unless it opens this machine
(``allow_loopback``, plain http included for it) or plain http to public hosts (``allow_http``).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from pydantic_core import ErrorDetails

from spell.bundle.manifest import Execution, Risk
from spell.errors import InvalidPolicyFile
from spell.policy.guards import AllOf, Guard
from spell.policy.rules import (
    DefaultGuard,
    EffectsGuard,
    ExecutionGuard,
    MaxRiskGuard,
    NameListGuard,
    PolicyContext,
    SignatureGuard,
)

__all__ = [
    "DEFAULT_POLICY",
    "EffectRules",
    "ListRules",
    "NetworkRules",
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


class NetworkRules(_Strict):
    """Where host steps may connect beyond https to public, allow-listed hosts (all off by default)."""

    allow_loopback: bool | None = None
    allow_http: bool | None = None


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
    network: NetworkRules | None = None


DEFAULT_POLICY = RuntimePolicy(version="v1", default="allow")


def guards_for(policy: RuntimePolicy) -> AllOf[PolicyContext]:
    """The policy as a chain of guards, in evaluation order."""
    guards: list[Guard[PolicyContext]] = []
    sections: tuple[tuple[Literal["spells", "publishers"], ListRules | None], ...] = (
        ("spells", policy.spells),
        ("publishers", policy.publishers),
    )
    for section, names in sections:
        if names is not None:
            guards.append(NameListGuard(section, _opt(names.allow), tuple(names.deny or ())))
    if policy.max_risk is not None:
        guards.append(MaxRiskGuard(policy.max_risk))
    if policy.runtime is not None and policy.runtime.allow_execution is not None:
        guards.append(ExecutionGuard(tuple(policy.runtime.allow_execution)))
    if policy.effects is not None:
        rules = policy.effects
        guards.append(
            EffectsGuard(_opt(rules.allow_types), tuple(rules.deny_types or ()), rules.deny_mutations is True)
        )
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


def _opt(values: list[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)


def evaluate(policy: RuntimePolicy, context: PolicyContext) -> None:
    """Return when ``policy`` allows ``context``; raise ``PolicyViolation`` with the reason when not."""
    guards_for(policy).check(context)


def parse_policy(raw: bytes | str, *, source: str = "policy.json") -> RuntimePolicy:
    """Validate a policy document; ``InvalidPolicyFile`` names the first problem and its path."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
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
            f"invalid policy: {_first_problem(exc.errors(include_url=False)[0], first['path'])}",
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


def _first_problem(error: ErrorDetails, path: str) -> str:
    """One validation error as a sentence; a wrong choice in spell-runtime's words, which scripts match."""
    if error["type"] == "literal_error":
        expected = (error.get("ctx") or {}).get("expected", "one of the allowed values")
        return f"{path} must be {expected}, got {error['input']!r}"
    return f"{path}: {error['msg']}"
