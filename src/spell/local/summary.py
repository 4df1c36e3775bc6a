"""The execution summary shown before a local cast runs (and all that ``--dry-run`` does)."""

from __future__ import annotations

from typing import Any

from spell.bundle.manifest import SpellManifest
from spell.config.wasm import WasmSettings
from spell.runtimes.limits import limits_for
from spell.signing.verifier import SignatureReport

__all__ = ["execution_summary", "render_summary", "wasm_summary"]


def execution_summary(manifest: SpellManifest, signature: SignatureReport) -> dict[str, Any]:
    """What the cast will do and may touch, as data."""
    return {
        "id": manifest.id,
        "version": manifest.version,
        "risk": manifest.risk,
        "effects": [e.to_dict() for e in manifest.effects],
        "permissions": [{"connector": p.connector, "scopes": list(p.scopes)} for p in manifest.permissions],
        "billing": manifest.billing.to_dict(),
        "runtime": {
            "execution": manifest.runtime.execution,
            "platforms": list(manifest.runtime.targets),
            "docker_image": manifest.runtime.docker_image,
            "max_parallel_steps": manifest.runtime.max_parallel_steps,
        },
        "signature": {"status": signature.status, "key_id": signature.key_id},
    }


def wasm_summary(manifest: SpellManifest, settings: WasmSettings | None) -> dict[str, Any] | None:
    """The limits a WASM cast will run with (manifest values capped by ``settings``) and its grants."""
    spec = manifest.runtime.wasm
    if manifest.runtime.execution != "wasm" or spec is None:
        return None
    maxima = settings or WasmSettings()
    limits = limits_for(manifest, maxima)  # what the local cast passes to the runtime
    policy = manifest.runtime.policy
    return {
        "module": spec.module,
        "timeout_ms": limits.timeout_ms,
        "fuel": limits.fuel,
        "max_memory_bytes": limits.max_memory_bytes,
        "max_stdout_bytes": limits.max_stdout_bytes,
        "max_stderr_bytes": limits.max_stderr_bytes,
        "max_artifact_bytes": maxima.max_artifact_bytes,
        "fs_read": list(policy.fs_read),
        "fs_write": list(policy.fs_write),
        "net_allow": list(policy.net_allow),
        "env_vars": list(policy.env_vars),
    }


def render_summary(summary: dict[str, Any]) -> str:
    """Human text of the summary (compatible with spell-runtime's layout)."""
    lines = ["=== Execution Summary ===", f"id@version: {summary['id']}@{summary['version']}"]
    lines.append(f"risk: {summary['risk']}")
    lines.append("effects:")
    lines += [
        f"  - type={e['type']}, target={e['target']}, mutates={str(e['mutates']).lower()}"
        for e in summary["effects"]
    ] or ["  - none"]
    lines.append("permissions:")
    lines += [
        f"  - connector={p['connector']}, scopes={','.join(p['scopes'])}" for p in summary["permissions"]
    ] or ["  - none"]
    b = summary["billing"]
    lines.append(
        f"billing: enabled={str(b['enabled']).lower()}, mode={b['mode']}, "
        f"max_amount={b['max_amount']}, currency={b['currency']}"
    )
    r = summary["runtime"]
    lines.append(f"runtime: execution={r['execution']}, docker_image={r['docker_image'] or '-'}")
    wasm = r.get("wasm")
    if wasm:
        lines.append(
            f"wasm: module={wasm['module']}, timeout_ms={wasm['timeout_ms']}, fuel={wasm['fuel']}, "
            f"memory_bytes={wasm['max_memory_bytes']}, stdout_bytes={wasm['max_stdout_bytes']}, "
            f"stderr_bytes={wasm['max_stderr_bytes']}, artifact_bytes={wasm['max_artifact_bytes']}"
        )
        grants = ", ".join(
            f"{name}={','.join(wasm[name]) or '-'}"
            for name in ("fs_read", "fs_write", "net_allow", "env_vars")
        )
        lines.append(f"wasm grants: {grants}")
    lines.append(f"signature: {summary['signature']['status']}")
    return "\n".join(lines)
