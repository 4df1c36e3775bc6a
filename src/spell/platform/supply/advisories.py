"""Importing OSV advisories into the database, then re-scanning every published version against them.

A record is kept by id: one whose ``modified`` is not newer than the stored one's is an older (or the
same) copy and changes nothing, so importing the same set twice, or an older set after a newer one,
is harmless.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from spell.kit import json_input
from spell.kit.clock import Clock, SystemClock
from spell.models.supply import Advisory
from spell.platform.audit.service import AuditService
from spell.platform.auth.schemas import Principal
from spell.platform.supply.errors import invalid_advisories
from spell.platform.supply.repository import SupplyRepository
from spell.platform.supply.rescan import ScanResult, SupplyScanService
from spell.sbom.osv import AdvisoryRecord, parse_osv, read_osv
from spell.storage.session import UnitOfWork

__all__ = ["AdvisoryService", "ImportResult"]

_BATCH = 500
_ZIP_TYPES = ("application/zip", "application/x-zip-compressed")
_ZIP_MAGIC = b"PK\x03\x04"  # a zip sent as application/octet-stream is still read as one


@dataclass(frozen=True)
class ImportResult:
    """What an import changed: records new to the database, newer than the stored copy, or not newer;
    ``withdrawn`` counts the added or updated records that withdraw their advisory. ``scan`` is the
    re-scan that followed."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    scan: ScanResult | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form ``spell advisories import --json`` prints."""
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "withdrawn": self.withdrawn,
            "scan": None if self.scan is None else self.scan.to_dict(),
        }


class AdvisoryService:
    """Imports advisories (an audited operator action) and re-scans after each import."""

    def __init__(
        self,
        scan: SupplyScanService,
        audit: AuditService,
        *,
        clock: Clock | None = None,
        repo: SupplyRepository | None = None,
    ) -> None:
        self.scan = scan
        self.audit = audit
        self.clock = clock or SystemClock()
        self.repo = repo or SupplyRepository()

    def import_records(
        self, uow: UnitOfWork, records: Iterable[AdvisoryRecord], *, principal: Principal | None = None
    ) -> ImportResult:
        """Store ``records``, then re-scan every published version against the advisories now held.

        With a ``principal`` (the REST route) only operators may; without one the caller is the operator
        on the server machine (``spell advisories import``).
        """
        if principal is not None:
            principal.require_operator()
        now = self.clock.now()
        counts = {"added": 0, "updated": 0, "unchanged": 0, "withdrawn": 0}
        for batch in _batches(records):
            stored = self.repo.advisories(uow, (record.id for record in batch))
            for record in batch:
                outcome = _outcome(stored.get(record.id), record)
                counts[outcome] += 1
                if outcome == "unchanged":
                    continue
                if record.withdrawn is not None:
                    counts["withdrawn"] += 1
                stored[record.id] = self.repo.put_advisory(uow, record, now, existing=stored.get(record.id))
        self.audit.append(
            uow,
            "advisories.imported",
            actor_id=None if principal is None else principal.user_id,
            subject="advisories",
            data=dict(counts),
        )
        return ImportResult(**counts, scan=self.scan.rescan(uow, now))

    def import_upload(
        self, uow: UnitOfWork, principal: Principal, data: bytes, *, media_type: str
    ) -> ImportResult:
        """``import_records`` of an upload: a zip of OSV JSON files (``application/zip``, or any body that
        starts as a zip does), or a JSON list of OSV records (or one record); ``VALIDATION_ERROR`` naming
        what cannot be read."""
        principal.require_operator()
        if media_type in _ZIP_TYPES or data.startswith(_ZIP_MAGIC):
            return self._import_zip(uow, principal, data)
        try:
            body = json_input.loads(data)
        except ValueError as exc:
            raise invalid_advisories(f"the body is not JSON: {exc}") from None
        items = body if isinstance(body, list) else [body]
        if not all(isinstance(item, dict) for item in items):
            raise invalid_advisories("the body is an OSV record or a list of OSV records (JSON objects)")
        return self.import_records(uow, [parse_osv(item) for item in items], principal=principal)

    def _import_zip(self, uow: UnitOfWork, principal: Principal, data: bytes) -> ImportResult:
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise invalid_advisories("the body is not a zip archive")
        # read_osv reads zips from a file, as osv.dev publishes them: the upload goes through one.
        with tempfile.TemporaryDirectory(prefix="spell-advisories-") as folder:
            path = Path(folder) / "upload.zip"
            path.write_bytes(data)
            return self.import_records(uow, list(read_osv(path)), principal=principal)

    def held(
        self, uow: UnitOfWork, principal: Principal | None = None, *, limit: int = 100
    ) -> list[Advisory]:
        """The advisories held, most recently imported first (operators only, with a ``principal``)."""
        if principal is not None:
            principal.require_operator()
        return self.repo.list_advisories(uow, limit=limit)


def _outcome(stored: Advisory | None, record: AdvisoryRecord) -> str:
    if stored is None:
        return "added"
    if stored.modified_at is not None and (record.modified is None or record.modified <= stored.modified_at):
        return "unchanged"
    if record.modified is None and _same(stored, record):
        return "unchanged"
    return "updated"


def _same(stored: Advisory, record: AdvisoryRecord) -> bool:
    return (
        list(stored.aliases or ()) == list(record.aliases)
        and stored.summary == record.summary
        and stored.score == record.score
        and stored.vector == record.vector
        and list(stored.affected or ()) == list(record.affected)
        and stored.withdrawn_at == record.withdrawn
    )


def _batches(records: Iterable[AdvisoryRecord]) -> Iterator[list[AdvisoryRecord]]:
    it = iter(records)
    while batch := list(islice(it, _BATCH)):
        yield batch
