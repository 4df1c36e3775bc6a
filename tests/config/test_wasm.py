"""``SPELL_WASM_*`` settings: defaults, overrides, and refusal of garbage."""

from __future__ import annotations

from pathlib import Path

import pytest

from spell.config.wasm import WasmSettings
from spell.errors import InvalidInput


def test_defaults_apply_when_nothing_is_set() -> None:
    assert WasmSettings.from_env({}) == WasmSettings()


def test_variables_override_the_maxima_in_their_units(tmp_path: Path) -> None:
    settings = WasmSettings.from_env(
        {
            "SPELL_WASM_MAX_TIMEOUT_MS": "500",
            "SPELL_WASM_MAX_FUEL": "1000",
            "SPELL_WASM_MAX_MEMORY_MB": "16",
            "SPELL_WASM_MAX_OUTPUT_MB": "2",
            "SPELL_WASM_MAX_STDERR_KB": "64",
            "SPELL_WASM_MAX_STACK_KB": "256",
            "SPELL_WASM_MAX_MODULE_MB": "8",
            "SPELL_WASM_EGRESS_MAX_REQUESTS": "3",
            "SPELL_WASM_EGRESS_TIMEOUT_MS": "2000",
            "SPELL_WASM_MODULE_CACHE_ENTRIES": "5",
            "SPELL_WASM_CACHE_DIR": str(tmp_path),
        }
    )
    assert settings.max_timeout_ms == 500
    assert settings.max_fuel == 1000
    assert settings.max_memory_bytes == 16 << 20
    assert settings.max_stdout_bytes == 2 << 20
    assert settings.max_stderr_bytes == 64 << 10
    assert settings.max_stack_bytes == 256 << 10
    assert settings.max_module_bytes == 8 << 20
    assert settings.egress_max_requests == 3
    assert settings.egress_timeout_ms == 2000
    assert settings.module_cache_entries == 5
    assert settings.cache_dir == tmp_path


def test_the_edge_supplies_the_cache_dir_when_no_variable_names_one(tmp_path: Path) -> None:
    assert WasmSettings.from_env({}, cache_dir=tmp_path).cache_dir == tmp_path


@pytest.mark.parametrize(
    ("name", "value"),
    [("SPELL_WASM_MAX_MEMORY_MB", "lots"), ("SPELL_WASM_MAX_FUEL", "0"), ("SPELL_WASM_MAX_STACK_KB", "8")],
)
def test_garbage_is_refused_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(InvalidInput) as info:
        WasmSettings.from_env({name: value})
    assert info.value.code == "VALIDATION_ERROR"
    assert name in info.value.message
