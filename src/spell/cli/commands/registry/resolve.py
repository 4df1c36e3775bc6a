"""``spell registry resolve registry:<id>[@version] [--name NAME]``."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="resolve")
@click.argument("source")
@click.option("--name", "name", help="Index to use (default: default).")
@json_option
def command(source: str, name: str | None, as_json: bool) -> None:
    """Show the concrete entry a registry: SOURCE resolves to, with its pins, without installing.

    The pin policy (SPELL_REGISTRY_REQUIRED_PINS) is applied, so a source that install would
    refuse for a missing pin is refused here too. Prints one "key<TAB>value" line each for
    registry (name and URL), id@version, source, commit and digest ("-" when not pinned).

    \b
    Example:
      spell registry resolve registry:acme/hello@latest --json
    """
    from spell.bundle.sources import FetchContext
    from spell.bundle.sources.registry import resolve_registry_source
    from spell.config.home import SpellHome
    from spell.config.registry import RegistrySettings

    settings = RegistrySettings.from_env()
    ctx = FetchContext(
        registry_file=SpellHome.from_env().registry_file,
        registry_name=name,
        required_pins=settings.required_pins,
        timeout_s=float(settings.fetch_timeout_s),
    )
    resolved = resolve_registry_source(source, ctx)
    entry = resolved.entry
    data = {"index": resolved.index_name, "index_url": resolved.index_url, **entry.model_dump(mode="json")}
    # spell-runtime's lines (key, tab, value), which scripts cut on the tab
    lines = [
        f"registry\t{resolved.index_name}\t{resolved.index_url}",
        f"id@version\t{entry.id}@{entry.version}",
        f"source\t{entry.source}",
        f"commit\t{entry.commit or '-'}",
        f"digest\t{entry.digest or '-'}",
    ]
    emit(data, as_json=as_json, human="\n".join(lines))
