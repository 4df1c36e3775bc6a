"""The execution summary shown before a local cast runs (and all that ``--dry-run`` does)."""

from __future__ import annotations

from typing import Any

from spell.bundle.manifest import SpellManifest
from spell.signing.verifier import SignatureReport

__all__ = ["execution_summary", "render_summary"]


def execution_summary(manifest: SpellManifest, signature: SignatureReport) -> dict[str, Any]:
    """What the cast will do and may touch, as data."""
    return {
        "id": manifest.id,
        "version": manifest.version,
        "risk": manifest.risk,
        "effects": [e.model_dump() for e in manifest.effects],
        "permissions": [{"connector": p.connector, "scopes": list(p.scopes)} for p in manifest.permissions],
        "billing": manifest.billing.model_dump(),
        "runtime": {
            "execution": manifest.runtime.execution,
            "platforms": list(manifest.runtime.platforms),
            "docker_image": manifest.runtime.docker_image,
            "max_parallel_steps": manifest.runtime.max_parallel_steps,
        },
        "signature": {"status": signature.status, "key_id": signature.key_id},
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
    lines.append(f"signature: {summary['signature']['status']}")
    return "\n".join(lines)
