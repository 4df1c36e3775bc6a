"""Execution logs of local casts: one JSON file per cast under ``$SPELL_HOME/logs/``.

Ids come from ``new_id("exec")`` (time-ordered, 80 random bits), so concurrent casts never share
a file. Files are written atomically (temp file + rename) with mode 0600. Retention removes logs
older than ``max_age_days`` and keeps at most ``max_files`` of the newest.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from spell.errors import InvalidInput, LogNotFound
from spell.kit.ids import new_id

__all__ = ["ExecutionLogs"]

_ID = re.compile(r"^exec_[0-9A-HJKMNP-TV-Z]{26}$")


class ExecutionLogs:
    """The log folder of one ``SPELL_HOME``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @staticmethod
    def new_id() -> str:
        """A fresh, collision-free execution id."""
        return new_id("exec")

    def path_for(self, execution_id: str) -> Path:
        """The file of ``execution_id``; refuses anything that is not an execution id."""
        if not _ID.fullmatch(execution_id):
            raise InvalidInput(
                f"not an execution id: {execution_id!r}",
                hint="ids look like exec_01J… (see `spell cast` output)",
            )
        return self.root / f"{execution_id}.json"

    def write(self, record: dict[str, Any]) -> Path:
        """Write the record atomically under its ``execution_id``."""
        target = self.path_for(str(record["execution_id"]))
        self.root.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=self.root)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(record, handle, indent=2, sort_keys=True, ensure_ascii=False, default=str)
                handle.write("\n")
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        return target

    def read(self, execution_id: str) -> dict[str, Any]:
        """Load one log; ``LogNotFound`` when there is none."""
        path = self.path_for(execution_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LogNotFound(
                f"execution log not found: {execution_id}",
                details={"execution_id": execution_id},
                hint="execution logs are kept for a limited time; see SPELL_API_LOG_RETENTION_DAYS",
            ) from None
        if not isinstance(data, dict):
            raise InvalidInput(f"execution log {execution_id} is not a JSON object")
        return data

    def latest(self) -> str:
        """The id of the newest log (ids sort by creation time); ``LogNotFound`` when there is none."""
        found = (
            sorted(path.stem for path in self.root.glob("exec_*.json") if _ID.fullmatch(path.stem))
            if self.root.is_dir()
            else []
        )
        if not found:
            raise LogNotFound("no execution logs yet", hint="`spell cast ID` writes one per cast")
        return found[-1]

    def prune(self, *, max_age_days: int, max_files: int, now: datetime) -> list[str]:
        """Delete logs past their age, then the oldest beyond ``max_files``; return removed ids."""
        if not self.root.is_dir():
            return []
        cutoff = (now - timedelta(days=max_age_days)).timestamp()
        entries: list[tuple[str, float]] = []
        with os.scandir(self.root) as listing:
            found = list(listing)
        for entry in found:
            stem = entry.name.removesuffix(".json")
            if entry.name.endswith(".json") and _ID.fullmatch(stem):
                with contextlib.suppress(FileNotFoundError):
                    entries.append((stem, entry.stat().st_mtime))
        entries.sort()  # ids sort by creation time
        doomed = [stem for stem, mtime in entries if max_age_days > 0 and mtime < cutoff]
        expired = set(doomed)
        kept = [stem for stem, _ in entries if stem not in expired]
        if max_files > 0 and len(kept) > max_files:
            doomed.extend(kept[: len(kept) - max_files])
        for stem in doomed:
            with contextlib.suppress(FileNotFoundError):  # a concurrent cast may prune it first
                (self.root / f"{stem}.json").unlink()
        return doomed
