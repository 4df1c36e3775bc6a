"""Supply chain on the server: imported advisories, each version's SBOM, the publish gate and re-scans."""
