"""Writing a bundle's SBOM: SPDX 2.3 (the default) or CycloneDX 1.6 JSON, from a ``Cargo.lock`` and the
manifest's ``components:`` list (a C or WAT spell has no lock file, so its maker declares them).

Only third-party packages are listed. In a ``Cargo.lock`` the packages without a ``source`` are the
spell's own crate and its path dependencies: the maker's code, published in no registry under that
name, so a ``pkg:cargo`` purl for them would be matched against a stranger's advisories. The spell
itself is the document's subject (SPDX: the package the document DESCRIBES; CycloneDX:
``metadata.component``) and carries no purl, so ``spell.sbom.document`` does not list it.

The output is deterministic, so regenerating an unchanged bundle changes neither its digest nor its
signature: components are sorted, JSON keys are sorted, identifiers (the SPDX namespace, the
CycloneDX serial number) are UUID5s of the content, and the creation time is the caller's (the CLI
passes ``SOURCE_DATE_EPOCH``, the reproducible-builds convention) or else ``EPOCH`` for SPDX, which
requires one, and none for CycloneDX, where it is optional. A file's mtime would not do: git does
not keep it, so two checkouts of one commit would give two SBOMs.
"""

from __future__ import annotations

import json
import re
import tomllib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from spell.bundle.digest import SBOM_FILES, sbom_file
from spell.bundle.loaders import load_manifest
from spell.bundle.manifest import SpellManifest
from spell.errors import AlreadyExists, InvalidInput, InvalidSbom
from spell.kit.canonical_json import canonical_bytes
from spell.sbom.document import Component, SbomFormat, parse_sbom

__all__ = [
    "EPOCH",
    "FILE_NAMES",
    "GeneratedSbom",
    "cargo_components",
    "created_from_epoch",
    "declared_components",
    "generate_sbom",
    "write_sbom",
]

#: The SPDX ``created`` time when the caller gives none: fixed, so the bytes do not change per run.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FILE_NAMES: dict[SbomFormat, str] = {"spdx": "sbom.spdx.json", "cyclonedx": "sbom.cdx.json"}
_CRATES_IO = ("registry+https://github.com/rust-lang/crates.io-index", "sparse+https://index.crates.io/")
_TOOL = "spell"


@dataclass(frozen=True)
class GeneratedSbom:
    """A generated SBOM: its file name at the bundle root, its bytes and the components it lists."""

    name: str
    data: bytes
    components: tuple[Component, ...]


def generate_sbom(
    bundle_dir: Path,
    *,
    format: SbomFormat = "spdx",
    cargo_lock: Path | None = None,
    created: datetime | None = None,
) -> GeneratedSbom:
    """The SBOM of the bundle at ``bundle_dir``: ``cargo_lock`` (default: ``Cargo.lock`` in the bundle,
    when there is one) and the manifest's ``components``, checked by ``parse_sbom`` before it is returned."""
    root = Path(bundle_dir)
    manifest = load_manifest(root)
    lock = cargo_lock if cargo_lock is not None else root / "Cargo.lock"
    found = cargo_components(lock) if cargo_lock is not None or lock.is_file() else []
    found += declared_components(manifest)
    components = tuple(sorted({c.purl: c for c in found}.values(), key=_order))
    if format == "spdx":
        document = _spdx(manifest, components, created or EPOCH)
    else:
        document = _cyclonedx(manifest, components, created)
    name = FILE_NAMES[format]
    # Indented rather than RFC 8785: the digest hashes the file's bytes as they are (nothing is
    # re-serialised), so sorted keys suffice for stable bytes, and makers read and review this file.
    data = (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
    return GeneratedSbom(name, data, parse_sbom(name, data).components)


def write_sbom(bundle_dir: Path, sbom: GeneratedSbom, *, force: bool = False) -> Path:
    """Write ``sbom`` at the bundle root; an SBOM already there (either format) is replaced only with
    ``force``."""
    root = Path(bundle_dir)
    present = [name for name in SBOM_FILES if (root / name).is_file() or (root / name).is_symlink()]
    if present and not force:
        raise AlreadyExists(
            f"{root / present[0]} already exists",
            details={"path": str(root / present[0])},
            hint="pass --force to replace it (then sign the bundle again: the SBOM is in the digest)",
        )
    for name in present:
        (root / name).unlink()
    target = root / sbom.name
    target.write_bytes(sbom.data)
    sbom_file(root)  # the bundle now carries exactly one SBOM
    return target


def created_from_epoch(value: str | None) -> datetime | None:
    """``SOURCE_DATE_EPOCH`` (whole seconds since 1970, UTC) as a time, None when unset or empty."""
    if not value:
        return None
    if not value.isdigit():
        raise InvalidInput(
            f"SOURCE_DATE_EPOCH must be whole seconds since 1970, not {value!r}",
            details={"field": "SOURCE_DATE_EPOCH"},
        )
    return datetime.fromtimestamp(int(value), tz=UTC)


def cargo_components(lock_path: Path) -> list[Component]:
    """The third-party packages of a ``Cargo.lock``, as ``pkg:cargo/NAME@VERSION`` components."""
    from packageurl import PackageURL

    where = str(lock_path)
    try:
        lock = tomllib.loads(Path(lock_path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidSbom(
            f"{where} not found", details={"path": where, "field": "(file)"}, hint="give --from a Cargo.lock"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidSbom(
            f"{where} is not valid TOML: {exc}", details={"path": where, "field": "(file)"}
        ) from None
    packages = lock.get("package", [])
    if not isinstance(packages, list):
        raise InvalidSbom(
            f"{where}: [[package]] must be a list of tables", details={"path": where, "field": "package"}
        )
    out = []
    for index, package in enumerate(packages):
        field = f"package[{index}]"
        if not isinstance(package, dict) or not all(
            isinstance(package.get(k), str) for k in ("name", "version")
        ):
            raise InvalidSbom(
                f"{where}: {field} needs a name and a version", details={"path": where, "field": field}
            )
        source = package.get("source")
        if not isinstance(source, str):
            continue
        qualifiers = {} if source in _CRATES_IO else _source_qualifier(source)
        purl = PackageURL("cargo", name=package["name"], version=package["version"], qualifiers=qualifiers)
        out.append(Component(package["name"], package["version"], purl.to_string()))
    return out


def declared_components(manifest: SpellManifest) -> list[Component]:
    """The manifest's ``components:``, each with its purl (given, or built from ``type``)."""
    from packageurl import PackageURL

    out = []
    for entry in manifest.components:
        purl = entry.purl
        if purl is None:
            # The manifest guarantees a type and a name, all PackageURL needs; a bad given purl is
            # caught when the document is parsed back.
            purl = PackageURL(str(entry.type).lower(), entry.namespace, entry.name, entry.version).to_string()
        licenses = (entry.license,) if entry.license else ()
        out.append(Component(entry.name, entry.version, purl, licenses))
    return out


def _one_expression(expressions: tuple[str, ...]) -> str:
    if len(expressions) == 1:
        return expressions[0]
    return " AND ".join(f"({e})" for e in expressions)


def _source_qualifier(source: str) -> dict[str, str]:
    """Where a crate not from crates.io came from: ``vcs_url`` for git (``git+URL@COMMIT``), else the
    registry's ``repository_url``; without it the purl would claim the crates.io package of that name."""
    if source.startswith("git+"):
        url, _, commit = source.partition("#")
        url = url.split("?", 1)[0]
        return {"vcs_url": f"{url}@{commit}" if commit else url}
    return {"repository_url": source.split("+", 1)[-1]}


def _order(component: Component) -> tuple[str, str, str]:
    return (component.name, component.version or "", component.purl or "")


def _content_uuid(manifest: SpellManifest, components: tuple[Component, ...]) -> str:
    content = canonical_bytes([manifest.id, manifest.version, [c.to_dict() for c in components]])
    return str(uuid.uuid5(uuid.NAMESPACE_URL, content.decode("utf-8")))


def _spdx(manifest: SpellManifest, components: tuple[Component, ...], created: datetime) -> dict[str, Any]:
    serial = _content_uuid(manifest, components)
    packages: list[dict[str, Any]] = [
        {
            "SPDXID": "SPDXRef-Spell",
            "name": manifest.id,
            "versionInfo": manifest.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False,
            "primaryPackagePurpose": "APPLICATION",
        }
    ]
    relationships = [
        {
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "DESCRIBES",
            "relatedSpdxElement": "SPDXRef-Spell",
        }
    ]
    for index, component in enumerate(components, start=1):
        spdx_id = f"SPDXRef-Package-{index}-{re.sub(r'[^A-Za-z0-9.-]+', '-', component.name)}"
        package: dict[str, Any] = {
            "SPDXID": spdx_id,
            "name": component.name,
            "versionInfo": component.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False,
            "externalRefs": [
                {
                    "referenceCategory": "PACKAGE-MANAGER",
                    "referenceType": "purl",
                    "referenceLocator": component.purl,
                }
            ],
        }
        if component.licenses:
            package["licenseDeclared"] = _one_expression(component.licenses)
        packages.append(package)
        relationships.append(
            {"spdxElementId": "SPDXRef-Spell", "relationshipType": "CONTAINS", "relatedSpdxElement": spdx_id}
        )
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"{manifest.id}@{manifest.version}",
        "documentNamespace": f"https://spell.invalid/spdxdocs/{manifest.id}/{manifest.version}/{serial}",
        "creationInfo": {"created": created.strftime("%Y-%m-%dT%H:%M:%SZ"), "creators": [f"Tool: {_TOOL}"]},
        "packages": packages,
        "relationships": relationships,
    }


def _cyclonedx(
    manifest: SpellManifest, components: tuple[Component, ...], created: datetime | None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "component": {
            "type": "application",
            "bom-ref": "spell",
            "name": manifest.id,
            "version": manifest.version,
        },
        "tools": {"components": [{"type": "application", "name": _TOOL}]},
    }
    if created is not None:
        metadata["timestamp"] = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    entries = []
    for component in components:
        entry: dict[str, Any] = {
            "type": "library",
            "bom-ref": component.purl,
            "name": component.name,
            "version": component.version,
            "purl": component.purl,
        }
        if component.licenses:
            entry["licenses"] = [{"expression": _one_expression(component.licenses)}]
        entries.append(entry)
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{_content_uuid(manifest, components)}",
        "version": 1,
        "metadata": metadata,
        "components": entries,
        "dependencies": [{"ref": "spell", "dependsOn": [c.purl for c in components]}],
    }
