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
