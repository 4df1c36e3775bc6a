"""``spell inspect server:PUBLISHER/NAME[@VERSION]``: a published version as the server of a profile
describes it, with its SBOM summary (``GET /v1/spells/{id}/versions/{v}/sbom``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spell.cli.commands._remote import remote_client
from spell.cli.commands._remote_install import parse_source
from spell.cli.commands._sbom_summary import served_sbom_lines
from spell.cli.output import emit

if TYPE_CHECKING:
    from spell.client.models import VersionOut

__all__ = ["inspect_on_server"]


def inspect_on_server(source: str, *, version: str | None, profile: str | None, as_json: bool) -> None:
    """Print the version's identity, signature and SBOM summary (``(none)`` when it has no SBOM);
    ``version`` (``--version``) applies when the source names none."""
    from spell.platform.spell.errors import SbomNotFound, version_not_found

    spell_id, named = parse_source(source)
    version = named or version
    with remote_client(profile) as client:
        detail = client.spells.get(spell_id)
        row = detail.latest
        if version is not None and version != row.version:
            found = [v for v in client.spells.versions(spell_id).items if v.version == version]
            if not found:
                raise version_not_found(spell_id, version)
            row = found[0]
        try:
            served = client.spells.sbom(spell_id, row.version)
        except SbomNotFound:
            served = None
        server = client.settings.base_url
    data: dict[str, Any] = {
        "id": spell_id,
        "version": row.version,
        "server": server,
        "visibility": detail.visibility,
        "digest": row.digest,
        "signer_key_id": row.signer_key_id,
        "flagged_at": row.flagged_at,
        "delist_at": row.delist_at,
        "delisted_at": row.delisted_at,
        "sigstore_identity": row.sigstore_identity,
        "sbom": None if served is None else served.model_dump(mode="json"),
    }
    lines = [
        "identity",
        f"  id@version: {spell_id}@{row.version}",
        f"  name: {detail.name}",
        f"  summary: {detail.summary}",
        f"  server: {server} visibility={detail.visibility}",
        f"  digest={row.digest} signer={row.signer_key_id or '-'}",
        *_flag_lines(row),
        f"  sigstore: {row.sigstore_identity or '(not proven)'}",
        *(served_sbom_lines(served) if served is not None else ["sbom", "  (none)"]),
    ]
    emit(data, as_json=as_json, human="\n".join(lines))


def _flag_lines(row: VersionOut) -> list[str]:
    """What a re-scan decided about the version: flagged (a blocking advisory), and when it is delisted."""
    if row.delisted_at is not None:
        return [f"  delisted={row.delisted_at} (a blocking advisory, not fixed in time)"]
    if row.flagged_at is not None:
        until = row.delist_at or "-"
        return [f"  flagged={row.flagged_at} delist_at={until} (a blocking advisory)"]
    return []
