"""``source.json``: where an installed version came from.

The keys are spell-runtime's (``type``, ``source``, ``ref``, ``commit``, ``image``, ``installed_at``)
plus ours (``url``, ``registry``, ``digest``, ``signature``); absent values are left out, so a file
written here is readable there and the other way round.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from spell.errors import StoreInconsistent
from spell.kit.time import parse_rfc3339, to_rfc3339

__all__ = ["SOURCE_FILE", "SOURCE_KINDS", "SourceRecord", "read_source_record"]

SOURCE_FILE = "source.json"
SOURCE_KINDS = ("local", "archive", "git", "registry", "oci")
_OPTIONAL = ("ref", "commit", "image", "url", "registry", "digest", "signature")


@dataclass(frozen=True)
class SourceRecord:
    """Provenance of one installed version.

    ``kind`` is one of ``SOURCE_KINDS``; ``source`` is what the user typed; ``url`` the git remote
    actually cloned (registry installs); ``digest`` is ``sha256:<hex>`` of the installed bundle;
    ``signature`` the verification status at install time (verified/unsigned/untrusted/invalid).
    """

    kind: str
    source: str
    installed_at: datetime
    ref: str | None = None
    commit: str | None = None
    image: str | None = None
    url: str | None = None
    registry: str | None = None
    digest: str | None = None
    signature: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``source.json`` object."""
        data: dict[str, Any] = {"type": self.kind, "source": self.source}
        for key in _OPTIONAL:
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        data["installed_at"] = to_rfc3339(self.installed_at)
        return data

    def to_text(self) -> str:
        """Pretty JSON with a trailing newline, as spell-runtime writes it."""
        return json.dumps(self.to_json(), indent=2) + "\n"

    @classmethod
    def from_json(cls, data: Any, *, where: str = SOURCE_FILE) -> SourceRecord:
        """Read a ``source.json`` object; refuse one without a type, source or timestamp."""
        if not isinstance(data, dict):
            raise StoreInconsistent(f"{where}: must be a JSON object", details={"path": where})
        try:
            kind, source = data["type"], data["source"]
            installed_at = parse_rfc3339(str(data["installed_at"]))
        except (KeyError, ValueError) as exc:
            raise StoreInconsistent(
                f"{where}: needs type, source and an ISO-8601 installed_at", details={"path": where}
            ) from exc
        extras = {k: str(data[k]) for k in _OPTIONAL if isinstance(data.get(k), str)}
        return cls(kind=str(kind), source=str(source), installed_at=installed_at, **extras)


def read_source_record(path: Path) -> SourceRecord | None:
    """Read ``source.json`` at ``path``; None when the file is absent (very old installs)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise StoreInconsistent(f"{path}: not valid JSON: {exc}", details={"path": str(path)}) from exc
    return SourceRecord.from_json(data, where=str(path))
