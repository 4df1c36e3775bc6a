"""``spell artifacts get CAST_ID NAME``: download one file a cast produced, checked by its sha256."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import click

from spell.cli.commands._remote import remote_client, remote_options
from spell.cli.output import emit

__all__ = ["command"]


@click.command(name="get")
@click.argument("cast_id")
@click.argument("name")
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Write it here (- for stdout); default: its base name in the current folder.",
)
@remote_options
def command(cast_id: str, name: str, output: Path | None, profile: str | None, as_json: bool) -> None:
    """Download the artifact NAME of CAST_ID through its signed link; its sha256 is checked.

    \b
    Examples:
      spell artifacts get cast_01J... out/report.txt
      spell artifacts get cast_01J... out/report.txt -o - | head
    """
    from spell.errors import InvalidInput, NotFound, VerificationError

    with remote_client(profile, timeout=120.0) as client:
        listed = client.casts.artifacts(cast_id).items
        artifact = next((a for a in listed if a.name == name), None)
        if artifact is None:
            raise NotFound(
                f"cast {cast_id} has no artifact {name!r}",
                details={"cast_id": cast_id, "name": name, "artifacts": [a.name for a in listed]},
                hint=f"spell casts get {cast_id} lists them",
            )
        content = client.artifacts.download(artifact)
    digest = hashlib.sha256(content).hexdigest()
    if digest != artifact.sha256.removeprefix("sha256:"):
        raise VerificationError(
            f"artifact {name!r} does not match its sha256",
            details={"expected": artifact.sha256, "actual": digest},
        )
    if output is not None and str(output) == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return
    target = output if output is not None else Path(Path(name).name)
    try:
        target.write_bytes(content)
    except OSError as exc:
        raise InvalidInput(
            f"cannot write {target}: {exc.strerror or exc}", details={"path": str(target)}
        ) from None
    data = {"cast_id": cast_id, "name": name, "path": str(target), "size": len(content), "sha256": digest}
    emit(data, as_json=as_json, human=f"{target} ({len(content)} B, sha256 {digest[:12]}…)")
