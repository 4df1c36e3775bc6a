"""Runtime test doubles: one that writes files (artifacts), with the same contract as real runtimes."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from spell.runtimes.base import Artifact, CastRequest, CastResult, Outcome, Usage

__all__ = ["FileWritingRuntime"]


class FileWritingRuntime:
    """Writes ``input["files"]`` (``{name: text}``) into the cast's work dir (else ``scratch``) and
    returns them as artifacts."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch

    def run(self, request: CastRequest) -> CastResult:
        """Write the files and succeed with ``{"written": [...]}``."""
        work = request.work_dir or self.scratch
        work.mkdir(parents=True, exist_ok=True)
        files: dict[str, Any] = (
            dict(request.input.get("files", {})) if isinstance(request.input, dict) else {}
        )
        artifacts = []
        for name, text in sorted(files.items()):
            path = work / name
            data = str(text).encode("utf-8")
            path.write_bytes(data)
            artifacts.append(
                Artifact(
                    name=name,
                    path=path,
                    size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                    media_type="text/plain",
                )
            )
        return CastResult(
            outcome=Outcome.SUCCEEDED,
            output={"written": sorted(files)},
            usage=Usage(output_bytes=sum(a.size for a in artifacts)),
            artifacts=artifacts,
        )
