"""Small valid SBOM documents (SPDX 2.3, CycloneDX 1.5/1.6) that tests change one field of."""

from __future__ import annotations

import json
from typing import Any


def spdx_document() -> dict[str, Any]:
    """A spell described by the document, containing serde (MIT OR Apache-2.0)."""
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "acme/hello@1.0.0",
        "documentNamespace": "https://spell.invalid/spdxdocs/acme/hello/1.0.0/test",
        "creationInfo": {"created": "2026-01-01T00:00:00Z", "creators": ["Tool: test"]},
        "packages": [
            {
                "SPDXID": "SPDXRef-Spell",
                "name": "acme/hello",
                "versionInfo": "1.0.0",
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": False,
            },
            {
                "SPDXID": "SPDXRef-Package-serde",
                "name": "serde",
                "versionInfo": "1.0.200",
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": False,
                "licenseConcluded": "MIT OR Apache-2.0",
                "licenseDeclared": "NOASSERTION",
                "externalRefs": [
                    {
                        "referenceCategory": "PACKAGE-MANAGER",
                        "referenceType": "purl",
                        "referenceLocator": "pkg:cargo/serde@1.0.200",
                    }
                ],
            },
        ],
        "relationships": [
            {
                "spdxElementId": "SPDXRef-DOCUMENT",
                "relationshipType": "DESCRIBES",
                "relatedSpdxElement": "SPDXRef-Spell",
            },
            {
                "spdxElementId": "SPDXRef-Spell",
                "relationshipType": "CONTAINS",
                "relatedSpdxElement": "SPDXRef-Package-serde",
            },
        ],
    }


def cyclonedx_document(spec_version: str = "1.6") -> dict[str, Any]:
    """The spell as metadata.component, containing serde (an expression) and zlib (a licence id)."""
    return {
        "bomFormat": "CycloneDX",
        "specVersion": spec_version,
        "version": 1,
        "metadata": {"component": {"type": "application", "name": "acme/hello", "version": "1.0.0"}},
        "components": [
            {
                "type": "library",
                "name": "serde",
                "version": "1.0.200",
                "purl": "pkg:cargo/serde@1.0.200",
                "licenses": [{"expression": "MIT OR Apache-2.0"}],
            },
            {
                "type": "library",
                "name": "zlib",
                "version": "1.3.1",
                "purl": "pkg:generic/zlib@1.3.1",
                "licenses": [{"license": {"id": "Zlib"}}],
            },
        ],
    }


def dumps(document: dict[str, Any]) -> bytes:
    """The document as file bytes."""
    return json.dumps(document, indent=2).encode("utf-8")
