from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from spell.bundle.loaders import load_manifest
from spell.errors import AlreadyExists, InvalidInput, InvalidManifest, InvalidSbom
from spell.sbom.document import Component, parse_sbom, read_sbom
from spell.sbom.generate import (
    EPOCH,
    cargo_components,
    created_from_epoch,
    declared_components,
    generate_sbom,
    write_sbom,
)
from tests.bundle.factories import make_host_bundle

CARGO_LOCK = """\
version = 3

[[package]]
name = "hello"
version = "0.1.0"
dependencies = ["serde", "helper"]

[[package]]
name = "helper"
version = "0.1.0"

[[package]]
name = "serde"
version = "1.0.200"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "ddc6f9cc94d67c0e21aaf7eda3a010fd3af78ebf6e096aa6e2e13c79749cce4f"

[[package]]
name = "forked"
version = "0.2.0"
source = "git+https://github.com/acme/forked?rev=abc#abc123"

[[package]]
name = "internal"
version = "3.0.0"
source = "sparse+https://crates.acme.example/index/"
"""

COMPONENTS = """\
components:
  - name: zlib
    version: 1.3.1
    type: generic
    license: Zlib
  - name: wasi-libc
    version: 0.0~git20220510.9886d3d-2
    type: deb
    namespace: debian
  - name: cjson
    version: 1.7.18
    purl: pkg:github/davegamble/cjson@1.7.18
"""


def _bundle(tmp_path: Path, *, components: str = "", lock: str | None = None) -> Path:
    bundle = make_host_bundle(tmp_path / "b")
    if components:
        with (bundle / "spell.yaml").open("a", encoding="utf-8") as manifest:
            manifest.write(components)
    if lock is not None:
        (bundle / "Cargo.lock").write_text(lock, encoding="utf-8")
    return bundle


def test_cargo_lock_gives_the_crates_with_a_source_and_not_the_spells_own(tmp_path: Path) -> None:
    lock = tmp_path / "Cargo.lock"
    lock.write_text(CARGO_LOCK, encoding="utf-8")
    assert cargo_components(lock) == [
        Component("serde", "1.0.200", "pkg:cargo/serde@1.0.200"),
        Component(
            "forked", "0.2.0", "pkg:cargo/forked@0.2.0?vcs_url=git%2Bhttps://github.com/acme/forked%40abc123"
        ),
        Component(
            "internal", "3.0.0", "pkg:cargo/internal@3.0.0?repository_url=https://crates.acme.example/index/"
        ),
    ]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("version = 3\n[[package]\n", "(file)"),
        ("package = 3\n", "package"),
        ('[[package]]\nname = "x"\n', "package[0]"),
    ],
    ids=["not-toml", "package-not-a-list", "no-version"],
)
def test_a_bad_cargo_lock_is_refused(tmp_path: Path, text: str, field: str) -> None:
    lock = tmp_path / "Cargo.lock"
    lock.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidSbom) as caught:
        cargo_components(lock)
    assert caught.value.details == {"path": str(lock), "field": field}


def test_a_missing_cargo_lock_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidSbom) as caught:
        generate_sbom(_bundle(tmp_path), cargo_lock=tmp_path / "nowhere.lock")
    assert caught.value.details["path"] == str(tmp_path / "nowhere.lock")


def test_declared_components_build_their_purls(tmp_path: Path) -> None:
    manifest = load_manifest(_bundle(tmp_path, components=COMPONENTS))
    assert declared_components(manifest) == [
        Component("zlib", "1.3.1", "pkg:generic/zlib@1.3.1", ("Zlib",)),
        Component(
            "wasi-libc", "0.0~git20220510.9886d3d-2", "pkg:deb/debian/wasi-libc@0.0~git20220510.9886d3d-2"
        ),
        Component("cjson", "1.7.18", "pkg:github/davegamble/cjson@1.7.18"),
    ]


def test_a_declared_component_needs_a_purl_or_a_type(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, components="components:\n  - name: zlib\n    version: 1.3.1\n")
    with pytest.raises(InvalidManifest) as caught:
        load_manifest(bundle)
    assert caught.value.details["errors"][0]["path"] == "components.0.purl"


@pytest.mark.parametrize("purl", ["zlib@1.3.1", "pkg:generic/zlib", "pkg:generic/zlib@1.3.0"])
def test_a_declared_purl_that_is_invalid_unversioned_or_disagrees_is_refused(
    tmp_path: Path, purl: str
) -> None:
    bundle = _bundle(
        tmp_path, components=f"components:\n  - {{name: zlib, version: 1.3.1, purl: '{purl}'}}\n"
    )
    with pytest.raises(InvalidSbom) as caught:
        generate_sbom(bundle)
    assert caught.value.details["path"] == "sbom.spdx.json"
    assert purl in caught.value.message
    assert not (bundle / "sbom.spdx.json").exists()


def test_toml_manifests_declare_components_as_tables(tmp_path: Path) -> None:
    bundle = tmp_path / "t"
    bundle.mkdir()
    (bundle / "manifest.toml").write_text(
        '[spell]\nkey = "acme/c"\nname = "C"\nversion = "1.0.0"\n[runtime]\nentry = "m.wasm"\n'
        '[[components]]\nname = "zlib"\nversion = "1.3.1"\ntype = "generic"\n',
        encoding="utf-8",
    )
    assert [c.purl for c in declared_components(load_manifest(bundle))] == ["pkg:generic/zlib@1.3.1"]


@pytest.mark.parametrize("sbom_format", ["spdx", "cyclonedx"])
def test_generated_sboms_round_trip_through_parse_sbom(tmp_path: Path, sbom_format: str) -> None:
    bundle = _bundle(tmp_path, components=COMPONENTS, lock=CARGO_LOCK)
    generated = generate_sbom(bundle, format=sbom_format)  # type: ignore[arg-type]
    parsed = parse_sbom(generated.name, generated.data)
    assert generated.name == ("sbom.spdx.json" if sbom_format == "spdx" else "sbom.cdx.json")
    assert parsed.components == generated.components
    assert [c.name for c in parsed.components] == [
        "cjson",
        "forked",
        "internal",
        "serde",
        "wasi-libc",
        "zlib",
    ]
    assert parsed.spec_version == ("2.3" if sbom_format == "spdx" else "1.6")


def test_a_spell_with_nothing_declared_gets_an_sbom_without_components(tmp_path: Path) -> None:
    for sbom_format in ("spdx", "cyclonedx"):
        generated = generate_sbom(_bundle(tmp_path), format=sbom_format)
        assert parse_sbom(generated.name, generated.data).components == ()


def test_the_spdx_document_describes_the_spell_and_is_deterministic(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, components=COMPONENTS)
    first = generate_sbom(bundle)
    assert generate_sbom(bundle).data == first.data
    document = json.loads(first.data)
    assert document["creationInfo"]["created"] == "1970-01-01T00:00:00Z"
    assert document["packages"][0] == {
        "SPDXID": "SPDXRef-Spell",
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "name": "acme/hello",
        "primaryPackagePurpose": "APPLICATION",
        "versionInfo": "1.0.0",
    }
    other = _bundle(tmp_path / "other")
    assert json.loads(generate_sbom(other).data)["documentNamespace"] != document["documentNamespace"]


def test_the_creation_time_is_the_callers(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    when = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert (
        json.loads(generate_sbom(bundle, created=when).data)["creationInfo"]["created"]
        == "2026-03-01T12:00:00Z"
    )
    cdx = json.loads(generate_sbom(bundle, format="cyclonedx", created=when).data)
    assert cdx["metadata"]["timestamp"] == "2026-03-01T12:00:00Z"
    assert "timestamp" not in json.loads(generate_sbom(bundle, format="cyclonedx").data)["metadata"]


def test_source_date_epoch_is_read_as_whole_seconds() -> None:
    assert created_from_epoch(None) is None
    assert created_from_epoch("") is None
    assert created_from_epoch("0") == EPOCH
    assert created_from_epoch("1767225600") == datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidInput) as caught:
        created_from_epoch("yesterday")
    assert caught.value.details == {"field": "SOURCE_DATE_EPOCH"}


def test_a_licence_spdx_does_not_know_fails_the_round_trip(tmp_path: Path) -> None:
    bundle = _bundle(
        tmp_path,
        components="components:\n  - {name: x, version: 1.0.0, type: generic, license: LicenseRef-x}\n",
    )
    with pytest.raises(InvalidSbom) as caught:
        generate_sbom(bundle)
    assert "LicenseRef-x" in caught.value.message


def test_write_sbom_refuses_to_replace_without_force(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, components=COMPONENTS)
    spdx = generate_sbom(bundle)
    write_sbom(bundle, spdx)
    cdx = generate_sbom(bundle, format="cyclonedx")
    with pytest.raises(AlreadyExists):
        write_sbom(bundle, cdx)
    assert read_sbom(bundle) is not None
    assert (bundle / "sbom.spdx.json").read_bytes() == spdx.data
    write_sbom(bundle, cdx, force=True)
    assert not (bundle / "sbom.spdx.json").exists()
    sbom = read_sbom(bundle)
    assert sbom is not None
    assert sbom.format == "cyclonedx"


def test_a_namespace_goes_with_a_type_not_a_purl(tmp_path: Path) -> None:
    bundle = _bundle(
        tmp_path,
        components="components:\n  - {name: z, version: 1.0.0, purl: 'pkg:generic/z@1.0.0', namespace: a}\n",
    )
    with pytest.raises(InvalidManifest) as caught:
        load_manifest(bundle)
    assert caught.value.details["errors"][0]["path"] == "components.0.namespace"
