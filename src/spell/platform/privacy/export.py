"""The export document: one JSON object holding everything the platform keeps about one user.

It is written piece by piece to a binary stream (a spooled file behind the HTTP response, a file for
the CLI), with casts, ledger postings and audit records read in keyset pages: an export's memory stays
flat however many casts the user made. Artifacts are listed (name, digest, size), not embedded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from spell.kit.time import to_rfc3339, to_rfc3339_or_none
from spell.models import Artifact, Cast, CastEvent, User
from spell.platform.audit.schemas import AuditEntry
from spell.platform.auth.repository import AuthRepository
from spell.platform.auth.schemas import KeyOut
from spell.platform.budget.service import BudgetService
from spell.platform.ledger.service import LedgerService
from spell.platform.privacy.repository import PrivacyRepository
from spell.platform.privacy.schemas import PreferencesOut, ProfileOut, TransferConsentOut
from spell.storage.keyset import keyset_pages
from spell.storage.session import UnitOfWork

__all__ = ["FORMAT", "ExportWriter"]

FORMAT = "spell.privacy-export/1"
_LEDGER_PAGE = 500


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


@dataclass(frozen=True)
class ExportWriter:
    """Writes one user's export from the unit of work it is given."""

    repo: PrivacyRepository
    keys: AuthRepository
    budgets: BudgetService
    ledger: LedgerService
    batch: int

    def write(self, uow: UnitOfWork, user: User, out: IO[bytes], *, now: datetime) -> None:
        """Write the whole document to ``out``."""
        erasure = self.repo.erasure(uow, user.id)
        head: dict[str, Any] = {
            "format": FORMAT,
            "exported_at": to_rfc3339(now),
            "profile": ProfileOut.from_row(user).model_dump(mode="json"),
            "preferences": PreferencesOut.from_row(self.repo.preference(uow, user.id)).model_dump(
                mode="json"
            ),
            "transfer_consents": [
                TransferConsentOut.from_row(row).model_dump(mode="json")
                for row in self.repo.consents(uow, user.id)
            ],
            "erasure": None
            if erasure is None
            else {
                "requested_at": to_rfc3339(erasure.requested_at),
                "purge_after": to_rfc3339(erasure.purge_after),
                "purged_at": to_rfc3339_or_none(erasure.purged_at),
            },
            "keys": [KeyOut.from_row(key).model_dump(mode="json") for key in self.keys.keys_of(uow, user.id)],
            "budget": self.budgets.view(uow, user.id).model_dump(mode="json"),
        }
        out.write(_json(head)[:-1])  # the object stays open for the streamed lists
        self._list(out, "casts", self._casts(uow, user.id))
        self._list(out, "ledger", self._ledger(uow, user.id))
        self._list(out, "audit", self._audit(uow, user.id))
        out.write(b"}")

    @staticmethod
    def _list(out: IO[bytes], name: str, items: Iterable[Any]) -> None:
        out.write(b"," + _json(name) + b":[")
        for index, item in enumerate(items):
            out.write((b"," if index else b"") + _json(item))
        out.write(b"]")

    def _casts(self, uow: UnitOfWork, user_id: str) -> Iterator[dict[str, Any]]:
        pages = keyset_pages(
            lambda after: self.repo.casts_after(uow, user_id, after, self.batch), "", lambda cast: cast.id
        )
        for page in pages:
            ids = [cast.id for cast in page]
            event_rows, artifact_rows = self.repo.events_of(uow, ids), self.repo.artifacts_of(uow, ids)
            events: dict[str, list[dict[str, Any]]] = {cast_id: [] for cast_id in ids}
            for event in event_rows:
                events[event.cast_id].append(_event(event))
            artifacts: dict[str, list[dict[str, Any]]] = {cast_id: [] for cast_id in ids}
            for artifact in artifact_rows:
                artifacts[artifact.cast_id].append(_artifact(artifact))
            for cast in page:
                yield _cast(cast, events[cast.id], artifacts[cast.id])
            for row in (*page, *event_rows, *artifact_rows):  # written: they need not stay in memory
                uow.session.expunge(row)

    def _ledger(self, uow: UnitOfWork, user_id: str) -> Iterator[dict[str, Any]]:
        before: int | None = None
        while True:
            page = self.ledger.entries(uow, user_id, limit=_LEDGER_PAGE, before=before)
            yield from (entry.model_dump(mode="json") for entry in page.items)
            if page.next_cursor is None:
                return
            before = int(page.next_cursor)

    def _audit(self, uow: UnitOfWork, user_id: str) -> Iterator[dict[str, Any]]:
        pages = keyset_pages(
            lambda after: self.repo.audit_about(uow, user_id, after, self.batch), 0, lambda record: record.seq
        )
        for page in pages:
            yield from (AuditEntry.from_row(record).model_dump(mode="json") for record in page)


def _cast(cast: Cast, events: list[dict[str, Any]], artifacts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": cast.id,
        "tenant_id": cast.tenant_id,
        "spell_id": cast.spell_id,
        "version": cast.version,
        "button_id": cast.button_id,
        "status": cast.status,
        "input": cast.input,
        "output": cast.output,
        "usage": cast.usage,
        "error_code": cast.error_code,
        "error_message": cast.error_message,
        "webhook_url": cast.webhook_url,
        "retry_of": cast.retry_of,
        "created_at": to_rfc3339(cast.created_at),
        "started_at": to_rfc3339_or_none(cast.started_at),
        "finished_at": to_rfc3339_or_none(cast.finished_at),
        "events": events,
        "artifacts": artifacts,
    }


def _event(event: CastEvent) -> dict[str, Any]:
    return {"seq": event.seq, "type": event.type, "data": event.data, "at": to_rfc3339(event.created_at)}


def _artifact(artifact: Artifact) -> dict[str, Any]:
    return {
        "id": artifact.id,
        "name": artifact.name,
        "sha256": artifact.sha256,
        "size": artifact.size,
        "media_type": artifact.media_type,
        "created_at": to_rfc3339(artifact.created_at),
        "expires_at": to_rfc3339(artifact.expires_at),
    }
