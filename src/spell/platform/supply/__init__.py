"""Supply chain on the server: imported advisories, re-scans of published versions, notices to makers."""
