"""SBOMs (SPDX 2.3 / CycloneDX 1.5 or 1.6 JSON), OSV advisories and the supply-chain gate: library core,
used by ``spell sbom`` locally and by the server at publish and re-scan."""
