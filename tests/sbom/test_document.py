from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from spell.errors import InvalidSbom
from spell.sbom.document import MAX_SBOM_BYTES, Component, parse_sbom, read_sbom, sbom_path
from tests.sbom.sbom_samples import cyclonedx_document, dumps, spdx_document

SPDX = "sbom.spdx.json"
CDX = "sbom.cdx.json"


def _refusal(name: str, document: dict[str, Any] | bytes) -> InvalidSbom:
    data = document if isinstance(document, bytes) else dumps(document)
    with pytest.raises(InvalidSbom) as caught:
        parse_sbom(name, data)
    assert caught.value.code == "INVALID_SBOM"
    assert caught.value.details["path"] == name
    return caught.value


def test_a_valid_spdx_document_lists_its_packages_but_not_the_purl_less_spell() -> None:
    sbom = parse_sbom(SPDX, dumps(spdx_document()))
    assert (sbom.format, sbom.spec_version, sbom.path) == ("spdx", "2.3", SPDX)
    assert sbom.components == (
        Component("serde", "1.0.200", "pkg:cargo/serde@1.0.200", ("MIT OR Apache-2.0",)),
    )
    assert sbom.document["name"] == "acme/hello@1.0.0"


def test_spdx_licences_are_concluded_then_declared_without_noassertion_or_none() -> None:
    document = spdx_document()
    package = document["packages"][1]
    package["licenseConcluded"], package["licenseDeclared"] = "NONE", "Apache-2.0"
    assert parse_sbom(SPDX, dumps(document)).components[0].licenses == ("Apache-2.0",)
    package["licenseConcluded"] = "MIT"
    assert parse_sbom(SPDX, dumps(document)).components[0].licenses == ("MIT", "Apache-2.0")


def test_an_spdx_described_package_with_a_purl_is_a_component_too() -> None:
    document = spdx_document()
    document["packages"][0]["externalRefs"] = [
        {
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": "pkg:generic/hello@1.0.0",
        }
    ]
    names = [c.name for c in parse_sbom(SPDX, dumps(document)).components]
    assert names == ["acme/hello", "serde"]


def test_a_lone_spdx_package_is_the_described_spell() -> None:
    document = spdx_document()
    document["packages"] = document["packages"][:1]
    document["relationships"] = []
    assert parse_sbom(SPDX, dumps(document)).components == ()


@pytest.mark.parametrize("spec_version", ["1.5", "1.6"])
def test_a_valid_cyclonedx_document_lists_its_components(spec_version: str) -> None:
    sbom = parse_sbom(CDX, dumps(cyclonedx_document(spec_version)))
    assert (sbom.format, sbom.spec_version) == ("cyclonedx", spec_version)
    assert sbom.components == (
        Component("serde", "1.0.200", "pkg:cargo/serde@1.0.200", ("MIT OR Apache-2.0",)),
        Component("zlib", "1.3.1", "pkg:generic/zlib@1.3.1", ("Zlib",)),
    )


def test_nested_cyclonedx_components_and_a_subject_with_a_purl_are_listed() -> None:
    document = cyclonedx_document()
    document["metadata"]["component"]["purl"] = "pkg:generic/hello@1.0.0"
    document["components"][1]["components"] = [
        {"type": "library", "name": "inner", "version": "2.0.0", "purl": "pkg:generic/inner@2.0.0"}
    ]
    names = [c.name for c in parse_sbom(CDX, dumps(document)).components]
    assert names == ["acme/hello", "serde", "zlib", "inner"]


@pytest.mark.parametrize("name", [SPDX, CDX])
def test_malformed_json_is_refused(name: str) -> None:
    error = _refusal(name, b'{"spdxVersion": ')
    assert error.details["field"] == "(document)"
    assert _refusal(name, b"[]").details["field"] == "(document)"
    assert _refusal(name, b"\xff\xfe").details["field"] == "(document)"


def test_only_the_two_sbom_file_names_are_read() -> None:
    error = _refusal("bom.json", dumps(spdx_document()))
    assert error.details["field"] == "(file)"


def test_spdx_2_2_is_refused() -> None:
    document = spdx_document()
    document["spdxVersion"] = "SPDX-2.2"
    assert _refusal(SPDX, document).details["field"] == "spdxVersion"


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.pop("documentNamespace"),
        lambda d: d.update(packages="not a list"),
        lambda d: d["packages"][1].update(licenseConcluded="MIT AND AND"),
        lambda d: d.update(relationships=[]),  # two packages and nothing says which is described
        lambda d: d["creationInfo"].update(created="yesterday"),
    ],
    ids=["no-namespace", "packages-not-a-list", "bad-licence", "nothing-described", "bad-created"],
)
def test_an_spdx_document_the_library_rejects_is_refused(change: Any) -> None:
    document = spdx_document()
    change(document)
    error = _refusal(SPDX, document)
    assert error.details["errors"]
    assert "fails validation" in error.message


@pytest.mark.parametrize("spec_version", ["1.4", "1.7", None])
def test_other_cyclonedx_versions_are_refused(spec_version: str | None) -> None:
    document = cyclonedx_document()
    document["specVersion"] = spec_version
    assert _refusal(CDX, document).details["field"] == "specVersion"


def test_a_cyclonedx_schema_failure_names_the_field() -> None:
    document = cyclonedx_document("1.5")
    document["components"][0]["type"] = "gadget"
    error = _refusal(CDX, document)
    assert error.details["field"] == "$.components[0].type"
    assert error.details["errors"][0].startswith("$.components[0].type: 'gadget'")


@pytest.mark.parametrize("name", [SPDX, CDX])
def test_a_component_without_a_version_is_refused(name: str) -> None:
    if name == SPDX:
        document = spdx_document()
        del document["packages"][1]["versionInfo"]
    else:
        document = cyclonedx_document()
        del document["components"][0]["version"]
    error = _refusal(name, document)
    assert error.details["component"] == "serde"
    assert "no version" in error.message


@pytest.mark.parametrize("name", [SPDX, CDX])
def test_a_component_without_a_purl_is_refused(name: str) -> None:
    if name == SPDX:
        document = spdx_document()
        del document["packages"][1]["externalRefs"]
    else:
        document = cyclonedx_document()
        del document["components"][0]["purl"]
    error = _refusal(name, document)
    assert error.details["component"] == "serde"
    assert "pkg:generic/serde@1.0.200" in error.message


@pytest.mark.parametrize("name", [SPDX, CDX])
@pytest.mark.parametrize(
    ("purl", "says"), [("pkg:cargo/serde", "unversioned"), ("pkg:cargo/serde@1.0.1", "make them agree")]
)
def test_an_unversioned_or_disagreeing_purl_is_refused(name: str, purl: str, says: str) -> None:
    if name == SPDX:
        document = spdx_document()
        document["packages"][1]["externalRefs"][0]["referenceLocator"] = purl
    else:
        document = cyclonedx_document()
        document["components"][0]["purl"] = purl
    error = _refusal(name, document)
    assert error.details["component"] == "serde"
    assert says in error.message


def test_a_purl_packageurl_cannot_parse_is_refused() -> None:
    document = cyclonedx_document()
    document["components"][0]["purl"] = "cargo/serde@1.0.200"
    assert "invalid purl" in _refusal(CDX, document).message


def test_an_oversized_document_is_refused_before_parsing() -> None:
    error = _refusal(SPDX, b" " * (MAX_SBOM_BYTES + 1))
    assert error.details["limit"] == MAX_SBOM_BYTES


def test_a_bundle_without_an_sbom_has_none(tmp_path: Path) -> None:
    assert sbom_path(tmp_path) is None
    assert read_sbom(tmp_path) is None


def test_read_sbom_reads_the_root_file(tmp_path: Path) -> None:
    (tmp_path / CDX).write_bytes(dumps(cyclonedx_document()))
    assert sbom_path(tmp_path) == CDX
    sbom = read_sbom(tmp_path)
    assert sbom is not None
    assert [c.name for c in sbom.components] == ["serde", "zlib"]


def test_both_sbom_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / SPDX).write_bytes(dumps(spdx_document()))
    (tmp_path / CDX).write_bytes(dumps(cyclonedx_document()))
    with pytest.raises(InvalidSbom) as caught:
        read_sbom(tmp_path)
    assert caught.value.details == {"path": SPDX, "field": "(file)", "conflicts_with": CDX}


def test_an_sbom_that_is_a_symlink_or_a_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_bytes(dumps(spdx_document()))
    bundle = tmp_path / "b"
    bundle.mkdir()
    os.symlink(outside, bundle / SPDX)
    with pytest.raises(InvalidSbom) as caught:
        read_sbom(bundle)
    assert caught.value.details["field"] == "(file)"
    (bundle / SPDX).unlink()
    (bundle / SPDX).mkdir()
    with pytest.raises(InvalidSbom):
        read_sbom(bundle)


def test_an_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    with (tmp_path / SPDX).open("wb") as handle:
        handle.truncate(MAX_SBOM_BYTES + 1)
    with pytest.raises(InvalidSbom) as caught:
        read_sbom(tmp_path)
    assert caught.value.details["size"] == MAX_SBOM_BYTES + 1


def test_a_package_described_by_a_described_by_relationship_is_the_spell() -> None:
    document = spdx_document()
    document["relationships"][0] = {
        "spdxElementId": "SPDXRef-Spell",
        "relationshipType": "DESCRIBED_BY",
        "relatedSpdxElement": "SPDXRef-DOCUMENT",
    }
    assert [c.name for c in parse_sbom(SPDX, dumps(document)).components] == ["serde"]


def test_many_validation_problems_are_summed_up_and_all_kept_in_details() -> None:
    document = cyclonedx_document()
    document["components"] = [dict(c, type="gadget") for c in document["components"] * 4]
    error = _refusal(CDX, document)
    assert len(error.details["errors"]) > 5
    assert f"(and {len(error.details['errors']) - 5} more)" in error.message
