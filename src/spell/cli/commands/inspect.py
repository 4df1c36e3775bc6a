"""``spell inspect ID [--version V]``: what an installed spell is, needs, does and costs."""

from __future__ import annotations

import json
from typing import Any

import click

from spell.cli.output import emit, json_option
from spell.cli.profiles import profile_option

__all__ = ["command"]


@click.command(name="inspect")
@click.argument("spell_id")
@click.option("--version", "version", help="Installed version (default: the highest).")
@profile_option
@json_option
def command(spell_id: str, version: str | None, profile: str | None, as_json: bool) -> None:
    """Show an installed spell: identity, inputs, permissions, effects, billing, runtime, checks,
    provenance (source, commit, digest, signature status at install) and its SBOM (components and
    licences).

    server:PUBLISHER/NAME[@VERSION] shows a version published on the server of --profile instead:
    its identity and its SBOM summary, with the advisories matching its components there now.

    \b
    Examples:
      spell inspect acme/hello
      spell inspect acme/hello --version 1.2.0 --json
      spell inspect server:acme/hello@1.2.0 --profile work
    """
    if spell_id.startswith("server:"):
        from spell.cli.commands._remote_inspect import inspect_on_server

        inspect_on_server(spell_id, version=version, profile=profile, as_json=as_json)
        return

    from spell.bundle.store import LocalStore
    from spell.cli.commands._sbom_summary import bundle_sbom, sbom_lines
    from spell.config.home import SpellHome

    spell = LocalStore(SpellHome.from_env().spells).resolve(spell_id, version)
    m = spell.manifest
    schema = _schema_summary(spell.path / m.schema_relpath)
    data: dict[str, Any] = {
        "id": m.id,
        "version": m.version,
        "path": str(spell.path),
        "manifest": m.to_dict(),
        "schema": schema,
        "source": spell.source.to_json() if spell.source else None,
        "sbom": bundle_sbom(spell.path),
    }
    lines = [
        "identity",
        f"  id@version: {m.id}@{m.version}",
        f"  name: {m.name}",
        f"  summary: {m.summary}",
        "inputs",
        f"  required: {','.join(schema['required']) or '(none)'}",
        f"  key types: {','.join(f'{k}:{t}' for k, t in schema['types'].items()) or '(none)'}",
        "permissions",
        *([f"  connector={p.connector} scopes={','.join(p.scopes)}" for p in m.permissions] or ["  (none)"]),
        "effects",
        *(
            [f"  type={e.type} target={e.target} mutates={str(e.mutates).lower()}" for e in m.effects]
            or ["  (none)"]
        ),
        "billing",
        f"  enabled={str(m.billing.enabled).lower()} mode={m.billing.mode} max_amount={m.billing.max_amount} "
        f"currency={m.billing.currency}",
        "runtime",
        f"  execution={m.runtime.execution} docker_image={m.runtime.docker_image or '-'} "
        f"platforms={','.join(m.runtime.targets)}",
        "checks",
        *([f"  type={c.type} params={json.dumps(c.params)}" for c in m.checks] or ["  (none)"]),
    ]
    if spell.source is not None:
        s = spell.source
        lines += ["provenance", f"  type={s.kind} source={s.source}"]
        lines += [f"  {k}={getattr(s, k)}" for k in ("ref", "commit", "image", "registry") if getattr(s, k)]
        lines += [f"  digest={s.digest or '-'}", f"  signature={s.signature or '-'}"]
    lines += sbom_lines(data["sbom"])
    emit(data, as_json=as_json, human="\n".join(lines))


def _schema_summary(path: Any) -> dict[str, Any]:
    """Required keys and top-level property types of the input schema (empty when unreadable)."""
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"required": [], "types": {}}
    if not isinstance(schema, dict):
        return {"required": [], "types": {}}
    raw_props = schema.get("properties")
    props: dict[str, Any] = raw_props if isinstance(raw_props, dict) else {}
    required = [str(r) for r in schema.get("required", []) if isinstance(r, str)]
    types = {str(k): str(v.get("type", "any")) if isinstance(v, dict) else "any" for k, v in props.items()}
    return {"required": required, "types": types}
