from __future__ import annotations

from pathlib import Path

import pytest

from spell.bundle.loaders import load_manifest, parse_toml_manifest, parse_yaml_manifest
from spell.errors import InvalidManifest

HOST_YAML = b"""
id: acme/hello
version: 1.0.0
name: Hello
summary: Says hello
inputs_schema: ./schema.json
risk: low
runtime:
  execution: host
  platforms: [linux/amd64]
steps:
  - uses: shell
    name: hello
    run: steps/hello.sh
"""


def test_yaml_manifest_loads_into_the_model() -> None:
    manifest = parse_yaml_manifest(HOST_YAML)
    assert manifest.id == "acme/hello"
    assert manifest.publisher == "acme"
    assert manifest.schema_relpath == "schema.json"
    assert manifest.steps[0].run == "steps/hello.sh"
    assert manifest.source_format == "yaml"


def test_os_arch_targets_are_read_and_written_under_the_spell_runtime_key() -> None:
    manifest = parse_yaml_manifest(HOST_YAML)
    assert manifest.runtime.targets == ("linux/amd64",)
    assert manifest.to_dict()["runtime"]["platforms"] == ["linux/amd64"]
    assert "targets" not in manifest.to_dict()["runtime"]


def test_toml_manifest_maps_onto_the_same_model() -> None:
    manifest = parse_toml_manifest(
        b"""
[spell]
key = "acme/echo"
name = "Echo"
version = "0.2.0"

[runtime]
entry = "echo.wasm"
timeout_ms = 500
max_memory_mb = 32

[runtime.policy]
fs_read = ["resources/"]
net_allow = ["api.example.com"]

[io]
input_schema = "schema.json"
output_format = "text"

[pricing]
model = "flat"
amount_micros = 1000
"""
    )
    assert manifest.runtime.execution == "wasm"
    assert manifest.runtime.wasm is not None
    assert manifest.runtime.wasm.module == "echo.wasm"
    assert manifest.runtime.wasm.timeout_ms == 500
    assert manifest.runtime.policy.net_allow == ("api.example.com",)
    assert manifest.io.output_format == "text"
    assert manifest.pricing.amount_micros == 1000
    assert manifest.source_format == "toml"


@pytest.mark.parametrize(
    ("patch", "path"),
    [
        ({"version": "1.0"}, "version"),
        ({"runtime": {"execution": "quantum"}}, "runtime.execution"),
        ({"risk": "extreme"}, "risk"),
        ({"id": "NoSlash"}, "id"),
        ({"version": "1.0." + "9" * 5000}, "version"),
        ({"version": "1.0." + "9" * 47}, "version"),
        ({"pricing": {"model": "flat", "amount_micros": 2**63}}, "pricing.amount_micros"),
        ({"pricing": {"model": "metered", "per_compute_ms_micros": 2**53}}, "pricing.per_compute_ms_micros"),
        ({"pricing": {"model": "per_event", "events": {"page": 2**70}}}, "pricing.events"),
    ],
)
def test_bad_fields_name_the_file_and_field_path(patch: dict[str, object], path: str) -> None:
    import yaml

    doc = yaml.safe_load(HOST_YAML)
    doc.update(patch)
    with pytest.raises(InvalidManifest) as info:
        parse_yaml_manifest(yaml.safe_dump(doc).encode())
    assert info.value.details["file"] == "spell.yaml"
    assert info.value.details["errors"][0]["path"] == path
    assert info.value.message.startswith(f"spell.yaml: {path}:")


@pytest.mark.parametrize(
    ("steps", "fragment"),
    [
        ([{"uses": "shell", "name": "a", "run": "steps/a.sh", "depends_on": ["zz"]}], "unknown step"),
        ([{"uses": "shell", "name": "a", "run": "steps/a.sh", "depends_on": ["a"]}], "itself"),
        (
            [
                {"uses": "shell", "name": "a", "run": "steps/a.sh"},
                {"uses": "shell", "name": "a", "run": "steps/b"},
            ],
            "twice",
        ),
        (
            [
                {"uses": "shell", "name": "a", "run": "steps/a.sh", "depends_on": ["b"]},
                {"uses": "shell", "name": "b", "run": "steps/b.sh", "depends_on": ["a"]},
            ],
            "cycle",
        ),
        (
            [
                {"uses": "shell", "name": "a", "run": "steps/a.sh", "depends_on": ["b", "b"]},
                {"uses": "shell", "name": "b", "run": "steps/b"},
            ],
            "twice",
        ),
    ],
)
def test_step_graph_errors_are_refused_at_load(steps: list[dict[str, object]], fragment: str) -> None:
    import yaml

    doc = yaml.safe_load(HOST_YAML)
    doc["steps"] = steps
    with pytest.raises(InvalidManifest) as info:
        parse_yaml_manifest(yaml.safe_dump(doc).encode())
    assert fragment in info.value.message


def test_billion_laughs_is_refused_before_expansion() -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    with pytest.raises(InvalidManifest) as info:
        parse_yaml_manifest("\n".join(lines).encode())
    assert "alias" in info.value.message


def test_oversized_manifest_is_refused() -> None:
    with pytest.raises(InvalidManifest) as info:
        parse_yaml_manifest(b"# " + b"x" * 300_000)
    assert info.value.details["limit"] == 256 * 1024


def test_unsafe_yaml_tags_are_refused() -> None:
    with pytest.raises(InvalidManifest):
        parse_yaml_manifest(b"id: !!python/object/apply:os.system ['true']\n")


def test_unknown_toml_section_is_refused() -> None:
    with pytest.raises(InvalidManifest) as info:
        parse_toml_manifest(b'[spell]\nkey="a/b"\nname="x"\nversion="1.0.0"\n[bogus]\nx=1\n')
    assert "bogus" in info.value.message


def test_missing_manifest_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(InvalidManifest) as info:
        load_manifest(tmp_path)
    assert info.value.hint is not None


def test_compat_manifest_loads() -> None:
    manifest = load_manifest(
        Path(__file__).resolve().parents[3] / "shared" / "compat" / "spell-runtime-v1" / "greet"
    )
    assert manifest.id == "compat/greet"
    assert manifest.version == "1.2.0"


SEED_TOML = b"""
[spell]
key = "dev.acme.wordcount"
name = "Word count"
version = "1.0.0"
description = "Counts words"
author = "Acme Tools <tools@acme.dev>"
license = "MIT"
homepage = "https://acme.dev/wordcount"
icon = "icon.png"

[runtime]
language = "rust"
entry = "wc.wasm"
timeout_ms = 2000

[pricing]
price_usd = 0.05
"""


def test_a_platform_toml_with_a_reverse_dns_key_and_a_dollar_price_loads() -> None:
    manifest = parse_toml_manifest(SEED_TOML)
    assert (manifest.id, manifest.publisher) == ("dev.acme/wordcount", "dev.acme")
    assert manifest.metadata == {
        "author": "Acme Tools <tools@acme.dev>",
        "license": "MIT",
        "homepage": "https://acme.dev/wordcount",
        "icon": "icon.png",
        "language": "rust",
    }
    assert (manifest.pricing.model, manifest.pricing.amount_micros, manifest.pricing.currency) == (
        "flat",
        50_000,
        "USD",
    )
    assert manifest.runtime.wasm is not None
    assert manifest.runtime.wasm.module == "wc.wasm"


def test_a_publisher_slash_name_key_is_kept_and_short_dotted_keys_are_not_split() -> None:
    assert parse_toml_manifest(SEED_TOML.replace(b"dev.acme.wordcount", b"acme/wc")).id == "acme/wc"
    with pytest.raises(InvalidManifest):
        parse_toml_manifest(SEED_TOML.replace(b"dev.acme.wordcount", b"acme.wordcount"))


@pytest.mark.parametrize(
    ("pricing", "message"),
    [
        (b"price_usd = 0.0000001", "whole micro-dollars"),
        (b"price_usd = -1", "zero or more"),
        (b'price_usd = "5"', "number of US dollars"),
        (b"price_usd = 1\namount_micros = 5", "not both"),
        (b'price_usd = 1\ncurrency = "EUR"', "currency must be USD"),
    ],
)
def test_a_dollar_price_that_is_not_a_whole_micro_amount_is_refused(pricing: bytes, message: str) -> None:
    with pytest.raises(InvalidManifest) as refused:
        parse_toml_manifest(SEED_TOML.replace(b"price_usd = 0.05", pricing))
    assert refused.value.code == "INVALID_MANIFEST"
    assert refused.value.details["errors"][0]["path"] == "pricing.price_usd"
    assert message in refused.value.message


def test_a_metadata_key_given_twice_with_different_values_is_refused() -> None:
    with pytest.raises(InvalidManifest) as refused:
        parse_toml_manifest(SEED_TOML + b'\n[metadata]\nlicense = "Apache-2.0"\n')
    assert refused.value.details["errors"][0]["path"] == "metadata.license"
    same = parse_toml_manifest(SEED_TOML + b'\n[metadata]\nlicense = "MIT"\nteam = "core"\n')
    assert same.metadata["team"] == "core"


def test_a_free_dollar_price_stays_free() -> None:
    manifest = parse_toml_manifest(SEED_TOML.replace(b"price_usd = 0.05", b"price_usd = 0"))
    assert (manifest.pricing.model, manifest.pricing.amount_micros) == ("free", 0)
