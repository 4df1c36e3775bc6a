"""Every check before a local cast runs, in a fixed order; the first refusal wins.

Order: resolve → input assembly → size cap → strict JSON → JSON Schema 2020-12 → signature → policy →
target (os/arch) → risk → billing and entitlement → connector tokens → execution summary. The input, signature
and runtime checks are the server's own functions, so a cast is refused here exactly where it would
be refused there.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spell.bundle.cache import PrivateCache
from spell.bundle.input_schema import check_input, check_input_json
from spell.bundle.manifest import SpellManifest
from spell.bundle.store import InstalledSpell, LocalStore
from spell.config.home import SpellHome
from spell.errors import (
    ConfirmationRequired,
    ConnectorTokenMissing,
    EntitlementRequired,
    PlatformMismatch,
)
from spell.local.inputs import assemble_input, check_input_size
from spell.local.summary import execution_summary
from spell.runtimes.egress import EgressPolicy
from spell.signing.trust import TrustStore
from spell.signing.verifier import SignatureReport, SignatureRule, check_bundle_signature

if TYPE_CHECKING:
    from spell.policy.file import NetworkRules

__all__ = ["CastOptions", "CastPlan", "LocalContext", "host_target", "preflight", "target_matches"]

_ARCH_ALIASES = {"x86_64": "amd64", "x64": "amd64", "aarch64": "arm64", "arm64": "arm64", "amd64": "amd64"}


@dataclass(frozen=True)
class CastOptions:
    """What the caster asked for (the flags of ``spell cast``)."""

    spell_id: str
    version: str | None = None
    params: tuple[str, ...] = ()
    input_file: Path | bytes | None = None  # bytes: the document itself, read from stdin
    dry_run: bool = False
    yes: bool = False
    allow_billing: bool = False
    allow_unsigned: bool = False
    require_signature: bool = False


@dataclass(frozen=True)
class LocalContext:
    """Where and with what a local cast runs; built once by the edge."""

    home: SpellHome
    environ: Mapping[str, str]
    input_max_bytes: int
    now: datetime
    target: str = field(default_factory=lambda: host_target())


@dataclass
class CastPlan:
    """The outcome of a passed preflight."""

    installed: InstalledSpell
    input_value: dict[str, Any]
    signature: SignatureReport
    connector_env: dict[str, str]
    summary: dict[str, Any]
    entitlement: str | None = None
    egress: EgressPolicy = field(default_factory=EgressPolicy)  # from the policy file's ``network``


Stage = Callable[[str], None]


def host_target() -> str:
    """This machine as an ``os/arch`` target with spell-runtime's arch names aliased (``x64`` = ``amd64``)."""
    machine = platform.machine().lower()
    return f"{platform.system().lower()}/{_ARCH_ALIASES.get(machine, machine)}"


def target_matches(declared: tuple[str, ...], host: str) -> bool:
    """True when ``host`` is among ``declared`` (after aliasing), or nothing is declared."""
    if not declared:
        return True
    normal = set()
    for entry in declared:
        os_name, _, arch = entry.lower().partition("/")
        normal.add(f"{os_name}/{_ARCH_ALIASES.get(arch, arch)}")
    return host in normal


def preflight(options: CastOptions, ctx: LocalContext, *, stage: Stage | None = None) -> CastPlan:
    """Run the checks in order and return the plan, or raise the first refusal."""
    note = stage or (lambda _name: None)
    note("resolve")
    store = LocalStore(ctx.home.spells, manifest_cache=PrivateCache(ctx.home.cache / "manifests"))
    installed = store.resolve(options.spell_id, options.version)
    manifest = installed.manifest
    note("input")
    value = assemble_input(options.params, options.input_file, max_bytes=ctx.input_max_bytes)
    check_input_size(value, ctx.input_max_bytes)
    check_input_json(value)
    check_input(installed.path, manifest, value, verdicts=PrivateCache(ctx.home.cache / "inputs"))
    note("signature")
    trust = TrustStore(ctx.home.trust)
    verified = PrivateCache(ctx.home.cache / "signatures")
    report = check_bundle_signature(installed.path, manifest, trust, verified=verified)
    SignatureRule(allow_unsigned=options.allow_unsigned, force=options.require_signature).enforce(report)
    note("policy")
    egress = EgressPolicy()
    if ctx.home.policy_file.exists():  # no file is the default policy, which allows everything
        from spell.policy.file import PolicyContext, evaluate, load_policy

        policy = load_policy(ctx.home.policy_file)
        evaluate(policy, PolicyContext.from_manifest(manifest, signature_status=report.status))
        egress = egress_for(policy.network)
    note("target")
    if manifest.runtime.execution in ("host", "docker") and not target_matches(
        manifest.runtime.targets, ctx.target
    ):
        raise PlatformMismatch(
            f"platform mismatch: host={ctx.target}, spell supports={','.join(manifest.runtime.targets)}",
            details={"host": ctx.target, "platforms": list(manifest.runtime.targets)},
        )
    note("risk")
    if manifest.risk in ("high", "critical") and not options.yes:
        raise ConfirmationRequired(
            f"risk {manifest.risk} requires --yes",
            details={"risk": manifest.risk},
            hint="read the execution summary (--dry-run), then cast again with --yes",
        )
    note("billing")
    entitlement = _billing(manifest, options, ctx, trust)
    note("connectors")
    connector_env = connector_tokens(manifest, ctx.environ)
    summary = execution_summary(manifest, report)
    return CastPlan(installed, value, report, connector_env, summary, entitlement, egress)


def egress_for(rules: NetworkRules | None) -> EgressPolicy:
    """The egress a local policy's ``network`` block opens (nothing when it is absent)."""
    if rules is None:
        return EgressPolicy()
    allow_http = rules.allow_http is True
    if rules.allow_loopback:
        return EgressPolicy.loopback_allowed(allow_http=allow_http)
    return EgressPolicy(allow_http=allow_http)


def connector_tokens(manifest: SpellManifest, environ: Mapping[str, str]) -> dict[str, str]:
    """The declared connector tokens from the environment; the first missing one is refused."""
    tokens = {}
    for permission in manifest.permissions:
        name = permission.token_env
        value = environ.get(name, "")
        if not value.strip():
            raise ConnectorTokenMissing(
                f"missing connector token {name}",
                details={"connector": permission.connector, "env": name},
                hint=f"export {name}=… before casting",
            )
        tokens[name] = value
    return tokens


def _billing(
    manifest: SpellManifest, options: CastOptions, ctx: LocalContext, trust: TrustStore
) -> str | None:
    if not manifest.billing.enabled:
        return None
    if not options.allow_billing:
        raise EntitlementRequired(
            "billing enabled requires --allow-billing",
            details={"billing": manifest.billing.to_dict()},
            hint="cast again with --allow-billing once you accept the cost",
        )
    from spell.signing.licenses import LicenseStore, find_entitlement  # only billed spells need it

    stored = find_entitlement(
        LicenseStore(ctx.home.licenses), manifest.id, billing=manifest.billing, trust=trust, now=ctx.now
    )
    return stored.name
