"""OSV records, principals and published spells with an SBOM, for the supply domain's tests."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from spell.models import SpellVersion
from spell.platform.auth.schemas import Principal
from spell.platform.server import Platform
from spell.platform.supply.repository import SupplyRepository
from spell.sbom.osv import AdvisoryRecord, parse_osv
from spell.signing.signature import sign_bundle
from tests.fixtures.bundles import archive_of, wasm_bundle
from tests.fixtures.server import Caller

CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # 9.8
MEDIUM = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"  # 5.3

OPERATOR = Principal(user_id="usr_ops", tenant_id="ten_ops", roles=("operator",), scopes=("operator",))
MAKER = Principal(user_id="usr_mk", tenant_id="ten_mk", roles=("maker",), scopes=("spell:publish",))


def osv(
    advisory_id: str,
    *,
    name: str = "serde",
    ecosystem: str = "crates.io",
    fixed: str = "1.0.150",
    vector: str | None = CRITICAL,
    modified: str = "2026-01-01T00:00:00Z",
    withdrawn: str | None = None,
) -> dict[str, Any]:
    """An OSV record: ``name`` affected from 0 until ``fixed``."""
    record: dict[str, Any] = {
        "schema_version": "1.6.0",
        "id": advisory_id,
        "modified": modified,
        "summary": f"{name} is broken",
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": name},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
            }
        ],
    }
    if vector is not None:
        record["severity"] = [{"type": "CVSS_V3", "score": vector}]
    if withdrawn is not None:
        record["withdrawn"] = withdrawn
    return record


def records(*items: dict[str, Any]) -> list[AdvisoryRecord]:
    """The parsed records."""
    return [parse_osv(item) for item in items]


def cyclonedx(spell_id: str, version: str, components: dict[str, str]) -> dict[str, Any]:
    """A CycloneDX 1.6 document listing crates (name -> version)."""
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "serialNumber": "urn:uuid:f3d33710-5c47-5134-a536-a052b9f7a04f",
        "metadata": {
            "component": {"bom-ref": "spell", "name": spell_id, "type": "application", "version": version}
        },
        "components": [
            {"type": "library", "bom-ref": name, "name": name, "version": v, "purl": f"pkg:cargo/{name}@{v}"}
            for name, v in components.items()
        ],
        "dependencies": [{"ref": "spell", "dependsOn": sorted(components)}]
        + [{"ref": name, "dependsOn": []} for name in sorted(components)],
    }


async def publish_with_sbom(
    client: httpx.AsyncClient,
    platform: Platform,
    maker: Caller,
    tmp_path: Path,
    *,
    version: str = "1.0.0",
    components: dict[str, str] | None = None,
    spell_id: str = "acme/hello",
) -> SpellVersion:
    """Publish a signed wasm spell carrying an SBOM of ``components`` (kept with the version by the
    publish gate); the version row."""
    assert maker.publisher is not None
    bundle = wasm_bundle(tmp_path / f"b-{secrets.token_hex(4)}", spell_id, version=version)
    document = cyclonedx(spell_id, version, components if components is not None else {"serde": "1.0.100"})
    (bundle / "sbom.cdx.json").write_text(json.dumps(document), encoding="utf-8")
    sign_bundle(bundle, maker.publisher.private_key, key_id=maker.publisher.key_id)
    response = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert response.status_code == 201, response.text
    with platform.db.unit_of_work(write=False) as uow:
        row = uow.session.scalar(
            select(SpellVersion).where(SpellVersion.spell_id == spell_id, SpellVersion.version == version)
        )
        assert row is not None
        assert SupplyRepository().get_sbom(uow, row.id) is not None
        return row
