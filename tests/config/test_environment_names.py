"""Every setting is read from ``<group prefix><FIELD>``, older names still work, a settings file too."""

from __future__ import annotations

import json
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest

from spell.config.billing import BillingSettings
from spell.config.docker import DockerOptions
from spell.config.group import Group, Setting, env_names, settings_of
from spell.config.logs import LogSettings
from spell.config.registry import RegistrySettings
from spell.config.runtime import RuntimeSettings
from spell.config.server import ServerSettings
from spell.config.wasm import WasmSettings
from spell.errors import InvalidInput

GROUPS: tuple[type[Group], ...] = (
    ServerSettings,
    WasmSettings,
    RuntimeSettings,
    BillingSettings,
    RegistrySettings,
    LogSettings,
    DockerOptions,
)


def _read(group: type[Group], env: dict[str, str]) -> Any:
    if group is DockerOptions:
        return DockerOptions.from_mapping(env)
    return group.from_env(env)  # type: ignore[attr-defined]


def _another_value(hint: Any, default: Any, meta: Setting, tmp_path: Path) -> tuple[str, Any]:
    """A raw variable value other than the default, and the value the field should then hold."""
    if meta.choices:
        other = next(choice for choice in meta.choices if choice != default)
        return other, other
    if hint is bool:
        return ("false", False) if default else ("true", True)
    if hint is int:
        return str(default + 1), default + 1
    if hint is float:
        return str(default + 1.5), default + 1.5
    if hint == tuple[str, ...]:
        return "a, b", ("a", "b")
    if hint == dict[str, dict[str, str]]:
        return '{"https://id.example": ["maker"]}', {"https://id.example": {"maker": "maker"}}
    if hint in (Path, Path | None):
        return str(tmp_path / "elsewhere"), tmp_path / "elsewhere"
    return "set-from-the-environment", "set-from-the-environment"


@pytest.mark.parametrize("group", GROUPS, ids=lambda group: group.__name__)
def test_every_setting_is_read_from_its_derived_name(group: type[Group], tmp_path: Path) -> None:
    hints = typing.get_type_hints(group)
    defaults = _read(group, {"SPELL_HOME": str(tmp_path)})
    for f, meta in settings_of(group):
        derived = env_names(group, f.name, meta)[0]
        assert derived == f"{group.env_prefix}{f.name.upper()}"
        raw, expected = _another_value(hints[f.name], getattr(defaults, f.name), meta, tmp_path)
        if group is ServerSettings and f.name == "blob_url":  # only an s3:// URL is one
            raw = expected = "s3://bucket/prefix"
        if group is BillingSettings and f.name == "stripe_api_key":
            extra = {"SPELL_BILLING_STRIPE_WEBHOOK_SECRET": "whsec_1"}
        else:
            extra = {}
        read = _read(group, {"SPELL_HOME": str(tmp_path), derived: raw, **extra})
        assert getattr(read, f.name) == expected, derived
        assert getattr(read, f.name) != getattr(defaults, f.name), derived


@pytest.mark.parametrize(
    ("older", "derived", "attribute", "value"),
    [
        ("SPELL_DATABASE_URL", "SPELL_SERVER_DATABASE_URL", "database_url", "postgresql+psycopg://u@h/db"),
        ("SPELL_QUEUE_URL", "SPELL_SERVER_QUEUE_URL", "queue_url", "nats://h:4222"),
        ("SPELL_RATE_LIMIT_URL", "SPELL_SERVER_RATE_LIMIT_URL", "rate_limit_url", "redis://h:6379/0"),
        (
            "SPELL_FORCE_REQUIRE_SIGNATURE",
            "SPELL_SERVER_FORCE_REQUIRE_SIGNATURE",
            "force_require_signature",
            True,
        ),
    ],
)
def test_the_older_names_and_the_derived_ones_both_work(
    tmp_path: Path, older: str, derived: str, attribute: str, value: object
) -> None:
    raw = "true" if value is True else str(value)
    for name in (older, derived):
        settings = ServerSettings.from_env({"SPELL_HOME": str(tmp_path), name: raw})
        assert getattr(settings, attribute) == value


def test_wasm_sizes_are_read_in_bytes_or_in_their_older_units() -> None:
    assert WasmSettings.from_env({"SPELL_WASM_MAX_MEMORY_BYTES": str(3 << 20)}).max_memory_bytes == 3 << 20
    assert WasmSettings.from_env({"SPELL_WASM_MAX_MEMORY_MB": "3"}).max_memory_bytes == 3 << 20
    assert WasmSettings.from_env({"SPELL_WASM_MAX_STDERR_KB": "2"}).max_stderr_bytes == 2048
    # the derived name wins when both are set
    both = {"SPELL_WASM_MAX_MEMORY_BYTES": str(5 << 20), "SPELL_WASM_MAX_MEMORY_MB": "3"}
    assert WasmSettings.from_env(both).max_memory_bytes == 5 << 20


@pytest.mark.parametrize(
    ("group", "name", "value"),
    [
        (ServerSettings, "SPELL_SERVER_DATABASE_URL", ""),  # empty: unset, not an error
        (ServerSettings, "SPELL_SERVER_SSE_HEARTBEAT_SECONDS", "often"),
        (ServerSettings, "SPELL_SERVER_MAX_WAIT_SECONDS", "-1"),
        (ServerSettings, "SPELL_QUEUE_URL", ""),
        (WasmSettings, "SPELL_WASM_MAX_TABLE_ELEMENTS", "0"),
        (WasmSettings, "SPELL_WASM_MAX_STACK_BYTES", "1024"),
        (RuntimeSettings, "SPELL_RUNTIME_STEP_TIMEOUT_MS", "soon"),
        (RuntimeSettings, "SPELL_RUNTIME_ADDRESS_SPACE_MB", "8"),
        (BillingSettings, "SPELL_BILLING_MAKER_SHARE_BPS", "-1"),
        (RegistrySettings, "SPELL_REGISTRY_REQUIRED_PINS", "some"),
        (RegistrySettings, "SPELL_REGISTRY_FETCH_TIMEOUT_S", "0"),
        (LogSettings, "SPELL_API_LOG_MAX_FILES", "many"),
        (DockerOptions, "SPELL_DOCKER_PIDS_LIMIT", "lots"),
    ],
)
def test_a_malformed_value_is_refused_naming_its_variable(
    tmp_path: Path, group: type[Group], name: str, value: str
) -> None:
    env = {"SPELL_HOME": str(tmp_path), name: value}
    if value == "":
        assert _read(group, env) == _read(group, {"SPELL_HOME": str(tmp_path)})
        return
    with pytest.raises(InvalidInput) as raised:
        _read(group, env)
    assert raised.value.code == "VALIDATION_ERROR"
    assert name in raised.value.message
    assert raised.value.details == {"variable": name}


def test_the_older_name_is_the_one_named_when_its_value_is_bad(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as raised:
        ServerSettings.from_env({"SPELL_HOME": str(tmp_path), "SPELL_FORCE_REQUIRE_SIGNATURE": "perhaps"})
    assert raised.value.details == {"variable": "SPELL_FORCE_REQUIRE_SIGNATURE"}
    for older, value in (("SPELL_WASM_MAX_MEMORY_MB", "lots"), ("SPELL_WASM_MAX_STACK_KB", "8")):
        with pytest.raises(InvalidInput) as raised:
            WasmSettings.from_env({older: value})
        assert raised.value.details == {"variable": older}


def test_a_toml_settings_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    file = tmp_path / "spell.toml"
    file.write_text(
        'SPELL_SERVER_WORKERS = 7\nSPELL_SERVER_ALLOW_UNSIGNED = true\nSPELL_QUEUE_URL = "nats://f:4222"\n'
        'SPELL_SERVER_JWT_ISSUERS = ["https://a", "https://b"]\n'
        'SPELL_WASM_MAX_FUEL = 99\nSPELL_SERVER_JWT_ROLE_MAP = { "https://a" = ["maker"] }\n',
        encoding="utf-8",
    )
    env = {"SPELL_HOME": str(tmp_path), "SPELL_SETTINGS_FILE": str(file), "SPELL_SERVER_WORKERS": "3"}
    settings = ServerSettings.from_env(env)
    assert settings.workers == 3
    assert settings.allow_unsigned is True
    assert settings.queue_url == "nats://f:4222"
    assert settings.jwt_issuers == ("https://a", "https://b")
    assert settings.jwt_role_map == {"https://a": {"maker": "maker"}}
    assert settings.wasm.max_fuel == 99


def test_a_dotenv_settings_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    file = tmp_path / "spell.env"
    file.write_text(
        "SPELL_HOME=" + str(tmp_path / "home") + "\nSPELL_BILLING_MAKER_SHARE_BPS=6000\n", encoding="utf-8"
    )
    server = ServerSettings.from_env({"SPELL_SETTINGS_FILE": str(file)})
    assert server.data_dir == tmp_path / "home" / "server"
    billing = BillingSettings.from_env(
        {"SPELL_SETTINGS_FILE": str(file), "SPELL_BILLING_MAKER_SHARE_BPS": "5000"}
    )
    assert billing.maker_share_bps == 5000
    assert BillingSettings.from_env({"SPELL_SETTINGS_FILE": str(file)}).maker_share_bps == 6000


@pytest.mark.parametrize(
    ("name", "content"),
    [("missing.toml", None), ("broken.toml", "SPELL_SERVER_WORKERS = "), ("gone.env", None)],
)
def test_an_unreadable_settings_file_is_refused_by_name(
    tmp_path: Path, name: str, content: str | None
) -> None:
    file = tmp_path / name
    if content is not None:
        file.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidInput) as raised:
        ServerSettings.from_env({"SPELL_HOME": str(tmp_path), "SPELL_SETTINGS_FILE": str(file)})
    assert "SPELL_SETTINGS_FILE" in raised.value.message


def test_a_bad_value_in_the_settings_file_is_refused_naming_the_variable(tmp_path: Path) -> None:
    file = tmp_path / "spell.toml"
    file.write_text("SPELL_SERVER_WORKERS = 0\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as raised:
        ServerSettings.from_env({"SPELL_HOME": str(tmp_path), "SPELL_SETTINGS_FILE": str(file)})
    assert raised.value.details == {"variable": "SPELL_SERVER_WORKERS"}


def test_constructing_settings_never_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SPELL_SERVER_WORKERS", "9")
    monkeypatch.setenv("SPELL_WASM_MAX_FUEL", "9")
    assert ServerSettings.for_home(tmp_path).workers == 2
    assert WasmSettings().max_fuel == 10_000_000_000
    assert ServerSettings.from_env().workers == 9


_PROBE = """
import json, sys
from spell.config.runtime import RuntimeSettings
from spell.config.wasm import WasmSettings
RuntimeSettings.from_env(); WasmSettings.from_env()
first = "pydantic_settings" in sys.modules
RuntimeSettings.from_env({"SPELL_RUNTIME_CPU_SECONDS": "5"})
print(json.dumps([first, "pydantic_settings" in sys.modules]))
"""


def test_pydantic_settings_is_imported_only_when_a_variable_is_set() -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)}
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, env=env)
    assert json.loads(done.stdout) == [False, True]
