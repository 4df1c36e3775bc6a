"""The settings tables of docs/server.md and docs/local-store.md, written from the groups' declarations.

``scripts/settings_reference.py`` prints it; a test checks that the documented table is this one.
"""

from __future__ import annotations

from typing import Any

from spell.config.abuse import AbuseSettings
from spell.config.billing import BillingSettings
from spell.config.docker import DockerOptions
from spell.config.github import GitHubSettings
from spell.config.group import Group, Setting, env_names, settings_of
from spell.config.logs import LogSettings
from spell.config.privacy import PrivacySettings
from spell.config.registry import RegistrySettings
from spell.config.retention import RetentionSettings
from spell.config.runtime import RuntimeSettings
from spell.config.server import ServerSettings
from spell.config.supply import SupplySettings
from spell.config.wasm import WasmSettings
from spell.config.webhooks import WebhookSettings

__all__ = ["LOCAL_GROUPS", "SERVER_GROUPS", "TABLES", "settings_table"]

#: The groups a server reads, in the order docs/server.md lists them.
SERVER_GROUPS: tuple[type[Group], ...] = (
    ServerSettings,
    WasmSettings,
    DockerOptions,
    BillingSettings,
    SupplySettings,
    RetentionSettings,
    AbuseSettings,
    PrivacySettings,
    WebhookSettings,
    GitHubSettings,
)
#: The groups the CLI reads for local casts and installs (docs/local-store.md).
LOCAL_GROUPS: tuple[type[Group], ...] = (
    RuntimeSettings,
    WasmSettings,
    DockerOptions,
    LogSettings,
    RegistrySettings,
)
#: Each documented table: the page and the groups it lists.
TABLES: dict[str, tuple[type[Group], ...]] = {
    "docs/server.md": SERVER_GROUPS,
    "docs/local-store.md": LOCAL_GROUPS,
}

_UNITS = {1024: "KiB", 1024 * 1024: "MiB"}


def settings_table(groups: tuple[type[Group], ...] = SERVER_GROUPS) -> str:
    """A Markdown table: variable (and its older names), default, meaning."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for group in groups:
        for f, meta in settings_of(group):
            default = f.default_factory() if callable(f.default_factory) else f.default
            lines.append(
                f"| {_variables(group, f.name, meta)} | {_default(default, meta)} | {meta.description} |"
            )
    return "\n".join(lines) + "\n"


def _variables(group: type[Group], name: str, meta: Setting) -> str:
    first, *older = env_names(group, name, meta)
    also = [f"`{alias}`" for alias in older]
    also += [f"`{alias}` in {_UNITS[unit]}" for alias, unit in meta.unit_aliases.items()]
    return f"`{first}`" + (f" (or {', '.join(also)})" if also else "")


def _default(value: Any, meta: Setting) -> str:
    if meta.shown_default is not None:
        return meta.shown_default
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or value in ((), {}):
        return "none"
    if isinstance(value, tuple):
        return ", ".join(f"`{item}`" for item in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return f"`{value}`"
    return str(value)
