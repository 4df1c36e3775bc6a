"""Wire shapes of the supply chain: advisory imports, re-scans, notices and a publisher's webhook."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from spell.kit.wire import Rfc3339, Rfc3339OrNone, RowModel

if TYPE_CHECKING:  # rows are only read here: the SDK imports these shapes without the database models
    from spell.models import Publisher

__all__ = [
    "AdvisoryImportOut",
    "AdvisoryList",
    "AdvisoryOut",
    "NoticeList",
    "NoticeOut",
    "PublisherWebhookOut",
    "PublisherWebhookUpdate",
    "ScanOut",
]


class ScanOut(BaseModel):
    """What a re-scan of every published version found and did (versions as ``spell@version``)."""

    scanned: int
    new_findings: int
    resolved_findings: int
    flagged: list[str]
    delisted: list[str]
    cleared: list[str]


class AdvisoryImportOut(BaseModel):
    """Records new to the server, newer than its copy, or not newer (older duplicates are skipped);
    ``withdrawn`` counts the added or updated ones that withdraw their advisory."""

    added: int
    updated: int
    unchanged: int
    withdrawn: int
    scan: ScanOut | None


class AdvisoryOut(RowModel):
    """An imported OSV advisory (its ``affected`` ranges left out)."""

    id: str
    aliases: list[str]
    summary: str
    score: float | None
    severity: str
    modified_at: Rfc3339OrNone
    withdrawn_at: Rfc3339OrNone
    imported_at: Rfc3339


class AdvisoryList(BaseModel):
    """Advisories held, most recently imported first."""

    items: list[AdvisoryOut]


class NoticeOut(RowModel):
    """What a maker was told about one of their versions: ``flagged`` (a blocking advisory matches it;
    delisted at ``details.delist_at`` unless fixed), ``delisted`` or ``cleared``."""

    id: str
    publisher: str
    spell_id: str
    version: str
    kind: str
    details: dict[str, Any]
    created_at: Rfc3339


class NoticeList(BaseModel):
    """A publisher's notices, newest first."""

    items: list[NoticeOut]


class PublisherWebhookUpdate(BaseModel):
    """Where the publisher's supply-chain notices are posted (``null``: nowhere)."""

    url: str | None = Field(max_length=2000)


class PublisherWebhookOut(BaseModel):
    """A publisher's notice webhook (shown without its query string)."""

    publisher: str
    url: str | None

    @classmethod
    def from_row(cls, row: Publisher) -> PublisherWebhookOut:
        """The publisher's name and hook, without the secrets a query string may hold."""
        from spell.platform.webhook.service import redact_url

        return cls(publisher=row.name, url=None if row.webhook_url is None else redact_url(row.webhook_url))
