"""A ``manifest.toml`` written as the Spell Platform seeds' §7.1 example is (the same tables, keys and
value types, with values of our own), loaded as written.

Every field of ``seed_manifest/manifest.toml`` lands somewhere in the one manifest model, as
docs/bundles.md tables it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from spell.bundle.loaders import load_manifest, parse_toml_manifest
from spell.errors import InvalidManifest

SEED = Path(__file__).parent / "seed_manifest"


def test_the_seed_example_loads_from_its_bundle_folder_and_every_field_is_mapped() -> None:
    manifest = load_manifest(SEED)
    # [spell]: a reverse-DNS key, description as summary, the descriptive keys as metadata
    assert (manifest.id, manifest.publisher) == ("org.example/thumbnail", "org.example")
    assert (manifest.name, manifest.version) == ("Thumbnail Maker", "0.4.1")
    assert manifest.summary == "Small previews of large pictures"
    # [runtime]: wasm by default, entry as the module, the limits under runtime.wasm
    assert manifest.runtime.execution == "wasm"
    wasm = manifest.runtime.wasm
    assert wasm is not None
    assert (wasm.module, wasm.target, wasm.timeout_ms, wasm.max_memory_mb, wasm.max_output_mb) == (
        "thumbnail.wasm",
        "wasm32-wasi",
        3000,
        64,
        20,
    )
    policy = manifest.runtime.policy
    assert (policy.fs_read, policy.fs_write, policy.net_allow, policy.env_vars) == (
        ("./assets",),
        (),
        (),
        ("THUMB_QUALITY",),
    )
    # [io]
    assert manifest.inputs_schema == "schema.json"
    assert (manifest.io.input_format, manifest.io.output_format) == ("json", "json")
    # [pricing]: dollars as integer micro-dollars
    pricing = manifest.pricing
    assert (pricing.model, pricing.currency, pricing.amount_micros) == ("flat", "USD", 20_000)
    assert isinstance(pricing.amount_micros, int)
    # [supply_chain]: the SBOM declaration as the file it names; the scan claim is descriptive
    assert manifest.supply_chain.sbom == "sbom.spdx.json"
    assert manifest.metadata == {
        "author": "example",
        "license": "Apache-2.0",
        "homepage": "https://example.org/thumbnail",
        "icon": "logo.png",
        "language": "c",
        "dependency_scan_passed": True,
        "tags": ["image", "thumbnail"],
        "category": "media",
        "repository": "https://example.org/thumbnail.git",
        "changelog": "CHANGES.md",
    }
    assert manifest.source_format == "toml"


SEED_BYTES = (SEED / "manifest.toml").read_bytes()


def _seed_with(old: bytes, new: bytes) -> bytes:
    assert old in SEED_BYTES
    return SEED_BYTES.replace(old, new)


def test_a_cyclonedx_sbom_format_names_the_cyclonedx_file() -> None:
    manifest = parse_toml_manifest(_seed_with(b'"spdx-json"  ', b'"cyclonedx-json"'))
    assert manifest.supply_chain.sbom == "sbom.cdx.json"


def test_no_sbom_included_leaves_the_sbom_unset() -> None:
    manifest = parse_toml_manifest(
        _seed_with(b"sbom_included = true", b"sbom_included = false").replace(
            b'sbom_format = "spdx-json"', b""
        )
    )
    assert manifest.supply_chain.sbom is None
    assert manifest.metadata["dependency_scan_passed"] is True


@pytest.mark.parametrize(
    ("old", "new", "path", "message"),
    [
        (b'"spdx-json"', b'"swid"', "supply_chain.sbom_format", "must be one of"),
        (b"sbom_included = true", b'sbom_included = "yes"', "supply_chain.sbom_included", "true or false"),
        (b"sbom_included = true", b"sbom_included = false", "supply_chain.sbom_format", "is not there"),
        (
            b"sbom_included = true",
            b'sbom_included = true\nsbom = "sbom.cdx.json"',
            "supply_chain.sbom",
            "sbom_format says",
        ),
        (
            b"dependency_scan_passed = true",
            b"dependency_scan_passed = 1",
            "supply_chain.dependency_scan_passed",
            "true or false",
        ),
        (
            b'category = "media"',
            b'category = "media"\ndependency_scan_passed = false',
            "supply_chain.dependency_scan_passed",
            "another value",
        ),
        (b"sbom_included = true", b"sbom_included = true\nscanner = 1", "supply_chain.scanner", "unknown"),
    ],
)
def test_a_supply_chain_declaration_that_does_not_hold_together_is_refused(
    old: bytes, new: bytes, path: str, message: str
) -> None:
    with pytest.raises(InvalidManifest) as refused:
        parse_toml_manifest(_seed_with(old, new))
    assert refused.value.code == "INVALID_MANIFEST"
    assert refused.value.details["errors"][0]["path"] == path
    assert message in refused.value.message
