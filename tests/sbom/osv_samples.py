"""Helpers for the OSV tests: the fixture set in tests/assets/osv and small records built in place."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from spell.sbom.document import Component
from spell.sbom.osv import AdvisoryRecord, parse_osv

ASSETS = Path(__file__).parent.parent / "assets" / "osv"
FIXTURE_IDS = {
    "GHSA-8q59-q68h-6hv4",
    "GHSA-jfh8-c2jp-5v3q",
    "GHSA-vh95-rmgr-6w4m",
    "RUSTSEC-2021-0139",
    "SPELL-TEST-2024-0001",
    "SPELL-TEST-2024-0002",
    "SPELL-TEST-2024-0003",
    "SPELL-TEST-2024-0004",
}


def fixture(record_id: str) -> AdvisoryRecord:
    (path,) = ASSETS.rglob(f"{record_id}.json")
    return parse_osv(json.loads(path.read_text()), source=path.name)


def component(purl: str) -> Component:
    name, _, version = purl.rpartition("@")
    return Component(name=name.rsplit("/", 1)[-1], version=version, purl=purl)


def record(*affected: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": "TEST-1", "modified": "2024-01-01T00:00:00Z", "affected": list(affected), **fields}


def semver_range(*events: dict[str, str], ecosystem: str = "crates.io", name: str = "demo") -> dict[str, Any]:
    return {
        "package": {"ecosystem": ecosystem, "name": name},
        "ranges": [{"type": "SEMVER", "events": list(events)}],
    }


def zip_of(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*.json")):
            archive.write(path, path.name)  # osv.dev's all.zip is flat: one <ID>.json per record
    return target
