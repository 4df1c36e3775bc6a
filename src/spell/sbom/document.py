"""Reading an SBOM at a bundle's root (``sbom.spdx.json`` or ``sbom.cdx.json``) into its components.

Both formats are checked by their maintained libraries: SPDX 2.3 is parsed by ``spdx-tools`` and run
through its full validator; CycloneDX 1.5 / 1.6 is checked against the JSON schema of the declared
``specVersion`` by ``cyclonedx-python-lib`` (other versions are refused). Every component needs a
version and a versioned purl (parsed by ``packageurl-python``) whose version equals the component's.
Licences are SPDX ``licenseConcluded`` / ``licenseDeclared`` (NOASSERTION and NONE say nothing and
are skipped) and CycloneDX ``licenses[].expression`` or ``licenses[].license.id``.

The document's subject is the spell itself (SPDX: the packages the document DESCRIBES; CycloneDX:
``metadata.component``). It is listed as a component only when it carries a purl, and then held to
the same rules: a spell has no package URL of its own, and a made-up one would be looked up in a
real ecosystem's advisories under a name that is not the spell's.

The libraries are imported only when an SBOM is read.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from spell.bundle.digest import SBOM_FILES, sbom_file
from spell.errors import InvalidSbom

if TYPE_CHECKING:
    from spdx_tools.spdx.model.document import Document
    from spdx_tools.spdx.model.package import Package

__all__ = [
    "MAX_SBOM_BYTES",
    "PURL_ECOSYSTEMS",
    "SBOM_FILES",
    "Component",
    "Sbom",
    "parse_sbom",
    "read_sbom",
    "sbom_path",
]

SbomFormat = Literal["spdx", "cyclonedx"]
#: Larger documents are refused before parsing: the SBOM is read whole, at publish time too.
MAX_SBOM_BYTES = 16 << 20
CYCLONEDX_VERSIONS = ("1.5", "1.6")
_SHOWN_PROBLEMS = 5

#: purl type -> OSV ecosystem name (https://ossf.github.io/osv-schema/#affectedpackage-field).
PURL_ECOSYSTEMS = {
    "cargo": "crates.io",
    "pypi": "PyPI",
    "npm": "npm",
    "golang": "Go",
    "maven": "Maven",
    "nuget": "NuGet",
    "gem": "RubyGems",
    "composer": "Packagist",
    "hex": "Hex",
    "pub": "Pub",
    "swift": "SwiftURL",
    "deb": "Debian",
    "apk": "Alpine",
    "github": "GitHub Actions",
}


@dataclass(frozen=True)
class Component:
    """One package the bundle contains."""

    name: str
    version: str | None
    purl: str | None  # versioned, e.g. pkg:cargo/serde@1.0.200
    licenses: tuple[str, ...] = ()  # SPDX licence expressions as declared

    @property
    def key(self) -> str:
        """The purl, else ``name@version``: how findings name the component."""
        if self.purl:
            return self.purl
        return f"{self.name}@{self.version}" if self.version else self.name

    @property
    def ecosystem(self) -> str | None:
        """The OSV ecosystem of the purl type (``cargo`` -> ``crates.io``, ``pypi`` -> ``PyPI``, …)."""
        if not self.purl or not self.purl.startswith("pkg:"):
            return None
        kind = self.purl[4:].split("/", 1)[0].lower()
        return PURL_ECOSYSTEMS.get(kind)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form kept with a published version."""
        return {
            "name": self.name,
            "version": self.version,
            "purl": self.purl,
            "licenses": list(self.licenses),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Component:
        """The inverse of ``to_dict``."""
        return cls(
            name=str(data["name"]),
            version=data.get("version"),
            purl=data.get("purl"),
            licenses=tuple(data.get("licenses") or ()),
        )


@dataclass(frozen=True)
class Sbom:
    """A validated SBOM document and the components it lists."""

    format: SbomFormat
    spec_version: str  # "2.3", "1.5", "1.6"
    path: str  # the file name at the bundle root
    document: dict[str, Any]
    components: tuple[Component, ...]


def sbom_path(bundle_dir: Path) -> str | None:
    """The SBOM file at the bundle root, or None; both at once is ``InvalidSbom``."""
    return sbom_file(bundle_dir)


def read_sbom(bundle_dir: Path) -> Sbom | None:
    """The bundle's SBOM, validated, or None when it has none (``InvalidSbom`` when it is bad)."""
    name = sbom_path(bundle_dir)
    if name is None:
        return None
    path = Path(bundle_dir) / name
    if path.is_symlink() or not path.is_file():
        raise InvalidSbom(
            f"{name} must be a regular file inside the bundle, not a link or a folder",
            details={"path": name, "field": "(file)"},
        )
    size = path.stat().st_size
    if size > MAX_SBOM_BYTES:
        raise _too_big(name, size)
    return parse_sbom(name, path.read_bytes())


def parse_sbom(name: str, data: bytes) -> Sbom:
    """Validate ``data`` as the SBOM file ``name`` (one of ``SBOM_FILES``); raises ``InvalidSbom``."""
    if name not in SBOM_FILES:
        raise InvalidSbom(
            f"{name} is not an SBOM file name: use {' or '.join(SBOM_FILES)}",
            details={"path": name, "field": "(file)"},
        )
    if len(data) > MAX_SBOM_BYTES:
        raise _too_big(name, len(data))
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidSbom(
            f"{name} is not valid UTF-8 JSON: {exc}",
            details={"path": name, "field": "(document)"},
            hint="write the SBOM as a JSON document, e.g. with `spell sbom generate`",
        ) from None
    if not isinstance(document, dict):
        raise InvalidSbom(f"{name} must be a JSON object", details={"path": name, "field": "(document)"})
    if name == "sbom.spdx.json":
        return _spdx(name, document)
    return _cyclonedx(name, document)


def _spdx(name: str, document: dict[str, Any]) -> Sbom:
    from spdx_tools.spdx.parser.error import SPDXParsingError
    from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    if document.get("spdxVersion") != "SPDX-2.3":
        raise _invalid(
            name,
            "spdxVersion",
            f'{name} must be SPDX 2.3: set spdxVersion to "SPDX-2.3" (found {document.get("spdxVersion")!r})',
        )
    try:
        # The parser consumes what it reads, so it gets a copy.
        parsed = JsonLikeDictParser().parse(copy.deepcopy(document))  # type: ignore[no-untyped-call]
    except SPDXParsingError as exc:
        raise _problems(name, "(document)", exc.get_messages()) from None  # type: ignore[no-untyped-call]
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        # spdx-tools assumes the JSON shape (objects where objects belong) and fails with these otherwise.
        raise _problems(name, "(document)", [f"not the SPDX JSON shape: {exc}"]) from None
    messages = [
        f"{m.context.spdx_id}: {m.validation_message}" if m.context.spdx_id else m.validation_message
        for m in validate_full_spdx_document(parsed, "SPDX-2.3")
    ]
    if messages:
        raise _problems(name, "(document)", messages)
    described = _spdx_described(parsed)
    components = []
    for package in parsed.packages:
        purl = _spdx_purl(package)
        if package.spdx_id in described and purl is None:
            continue
        licenses = [
            str(value)
            for value in (package.license_concluded, package.license_declared)
            if value is not None and str(value) not in ("NOASSERTION", "NONE")
        ]
        components.append(
            _component(
                name,
                component=package.name,
                version=package.version,
                purl=purl,
                licenses=licenses,
                where=package.spdx_id,
                fix="versionInfo and an externalRefs entry (PACKAGE-MANAGER, purl)",
            )
        )
    return Sbom("spdx", "2.3", name, document, tuple(components))


def _spdx_described(parsed: Document) -> set[str]:
    from spdx_tools.spdx.model.relationship import RelationshipType

    doc_id = parsed.creation_info.spdx_id
    described = {
        r.related_spdx_element_id
        for r in parsed.relationships
        if r.relationship_type == RelationshipType.DESCRIBES and r.spdx_element_id == doc_id
    }
    described |= {
        r.spdx_element_id
        for r in parsed.relationships
        if r.relationship_type == RelationshipType.DESCRIBED_BY and r.related_spdx_element_id == doc_id
    }
    if not described and len(parsed.packages) == 1:
        described.add(parsed.packages[0].spdx_id)  # SPDX: a lone package is what the document describes
    return {str(d) for d in described}


def _spdx_purl(package: Package) -> str | None:
    from spdx_tools.spdx.model.package import ExternalPackageRefCategory

    for ref in package.external_references:
        if ref.category == ExternalPackageRefCategory.PACKAGE_MANAGER and ref.reference_type == "purl":
            return ref.locator
    return None


def _cyclonedx(name: str, document: dict[str, Any]) -> Sbom:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonValidator

    version = document.get("specVersion")
    if document.get("bomFormat") != "CycloneDX" or version not in CYCLONEDX_VERSIONS:
        raise _invalid(
            name,
            "specVersion",
            f'{name} must be CycloneDX 1.5 or 1.6 JSON: set bomFormat to "CycloneDX" and specVersion to '
            f'"1.5" or "1.6" (found {document.get("bomFormat")!r} {version!r})',
        )
    validator = JsonValidator(SchemaVersion.from_version(str(version)))
    errors = validator.validate_str(json.dumps(document), all_errors=True)
    if errors is not None:
        found = list(errors)
        shown = [f"{e.data.json_path}: {_short(e.data.message)}" for e in found]
        raise _problems(name, found[0].data.json_path, shown)
    components = []
    subject = document.get("metadata", {}).get("component")
    listed = [("metadata.component", subject)] if subject and subject.get("purl") else []
    listed += list(_cdx_components(document.get("components", []), "components"))
    for where, entry in listed:
        licenses = []
        for choice in entry.get("licenses", []):
            if "expression" in choice:
                licenses.append(choice["expression"])
            elif "id" in choice.get("license", {}):
                licenses.append(choice["license"]["id"])
        components.append(
            _component(
                name,
                component=entry["name"],
                version=entry.get("version"),
                purl=entry.get("purl"),
                licenses=licenses,
                where=where,
                fix="version and purl",
            )
        )
    return Sbom("cyclonedx", str(version), name, document, tuple(components))


def _cdx_components(entries: list[dict[str, Any]], where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every component, nested ones included (a component may list the components it contains)."""
    for index, entry in enumerate(entries):
        at = f"{where}[{index}]"
        yield at, entry
        yield from _cdx_components(entry.get("components", []), f"{at}.components")


def _component(
    name: str,
    *,
    component: str,
    version: str | None,
    purl: str | None,
    licenses: list[str],
    where: str,
    fix: str,
) -> Component:
    """Check one component's version and purl; ``where`` says where it is in the document."""
    from packageurl import PackageURL

    details = {"path": name, "field": where, "component": component}
    if not version:
        raise InvalidSbom(
            f"{name}: component {component!r} ({where}) has no version: give it {fix}", details=details
        )
    if not purl:
        raise InvalidSbom(
            f"{name}: component {component!r} ({where}) has no purl: give it {fix}, e.g. "
            f"pkg:generic/{component}@{version}",
            details=details,
        )
    try:
        parsed = PackageURL.from_string(purl)
    except ValueError as exc:
        raise InvalidSbom(
            f"{name}: component {component!r} ({where}) has an invalid purl {purl!r}: {exc}", details=details
        ) from None
    if not parsed.version:
        raise InvalidSbom(
            f"{name}: component {component!r} ({where}) has an unversioned purl {purl!r}: "
            f"write it as {purl}@{version}",
            details=details,
        )
    if parsed.version != version:
        raise InvalidSbom(
            f"{name}: component {component!r} ({where}) is version {version} but its purl {purl!r} says "
            f"{parsed.version}: make them agree",
            details=details,
        )
    return Component(component, version, parsed.to_string(), tuple(dict.fromkeys(licenses)))


def _invalid(name: str, field: str, message: str) -> InvalidSbom:
    return InvalidSbom(message, details={"path": name, "field": field})


def _problems(name: str, field: str, messages: list[str]) -> InvalidSbom:
    shown = messages[:_SHOWN_PROBLEMS]
    more = f" (and {len(messages) - len(shown)} more)" if len(messages) > len(shown) else ""
    return InvalidSbom(
        f"{name} fails validation: {'; '.join(shown)}{more}",
        details={"path": name, "field": field, "errors": messages[:50]},
        hint="fix the listed fields, or regenerate it with `spell sbom generate --force`",
    )


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _too_big(name: str, size: int) -> InvalidSbom:
    return InvalidSbom(
        f"{name} is {size} bytes; the limit is {MAX_SBOM_BYTES}",
        details={"path": name, "field": "(file)", "size": size, "limit": MAX_SBOM_BYTES},
    )
