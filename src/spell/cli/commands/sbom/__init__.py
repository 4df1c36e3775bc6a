"""``spell sbom``: write and check a bundle's SBOM (one module per verb)."""

from __future__ import annotations

from spell.cli.lazy import verb_group

__all__ = ["group"]

group = verb_group(
    "sbom",
    __name__,
    {
        "generate": "Write the bundle's SBOM from Cargo.lock and the manifest's components.",
        "validate": "Check the bundle's SBOM and show the supply-chain gate's verdict.",
    },
    help_text="""Write and check a bundle's SBOM (sbom.spdx.json or sbom.cdx.json at its root).

The SBOM is covered by the bundle digest: sign the bundle again after writing it.

\b
Typical flow:
  spell sbom generate ./my-spell                 # SPDX 2.3; --format cyclonedx for CycloneDX 1.6
  spell sbom validate ./my-spell --advisories ./osv/
  spell sign bundle ./my-spell --private-key .spell-keys/acme__default.private.pem
""",
)
