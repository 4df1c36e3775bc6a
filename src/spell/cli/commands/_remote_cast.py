"""``spell cast ID --remote``: cast on the server of a profile and follow the cast's events live.

When is a cast remote? With ``--remote``, always. Without it, only when a profile was named
(``--profile NAME`` or ``SPELL_PROFILE``) and the spell is not installed here: an installed spell
is always cast locally, where it is free and checked against your own trust store and policy, and
a saved default profile alone never sends an input to a server.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spell.cli.commands._progress import Progress
from spell.cli.commands._remote import absolute_url, remote_client
from spell.cli.output import emit
from spell.errors import InvalidInput

if TYPE_CHECKING:
    from spell.client.models import ArtifactOut, CastEvent, CastOut

__all__ = [
    "CastDisplay",
    "cast_input",
    "cast_remote",
    "is_remote",
    "log_lines",
    "raise_for_cast",
    "result_text",
]


def is_remote(spell_id: str, *, remote: bool, profile: str | None) -> bool:
    """Whether ``spell cast`` goes to the server (see the module's rule)."""
    if remote:
        return True
    if profile is None:
        return False
    from spell.bundle.store import LocalStore
    from spell.config.home import SpellHome

    return not LocalStore(SpellHome.from_env().spells).id_dir(spell_id).is_dir()


def cast_input(params: tuple[str, ...], input_file: Path | None) -> Any:
    """The input sent: ``--input``'s JSON document (any JSON; ``-`` reads stdin), then each ``-p``
    set on it as for a local cast (which needs the document to be an object)."""
    from spell.kit.jsonpath import set_path
    from spell.local.inputs import parse_param

    document: Any = {} if input_file is None else _read_document(input_file)
    if params and not isinstance(document, dict):
        raise InvalidInput(
            "-p sets keys of an input object, but --input holds another JSON value",
            hint="put the whole input in the --input file, or make it an object",
        )
    for pair in params:
        key, value = parse_param(pair)
        set_path(document, key, value)
    return document


def _read_document(input_file: Path) -> Any:
    try:
        raw = sys.stdin.buffer.read() if str(input_file) == "-" else input_file.read_bytes()
        return json.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise InvalidInput(f"cannot read input file {input_file}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"input {input_file} is not valid JSON: {exc}") from None


class CastDisplay:
    """Turns a cast's server-sent events into progress lines (steps, logs, the end)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def event(self, event: CastEvent) -> None:
        """Show one event."""
        data = event.data
        if event.type == "progress":
            detail = f" ({data['detail']})" if data.get("detail") else ""
            self.progress.line(f"step {data.get('step')}: {data.get('event')}{detail}", style="cyan")
        elif event.type == "log":
            self._log(data)
        elif event.is_terminal:
            code = f" ({data['error_code']})" if data.get("error_code") else ""
            self.progress.line(f"{event.type}{code}", style="green" if event.type == "succeeded" else "red")
        else:
            self.progress.status(event.type)

    def _log(self, data: dict[str, Any]) -> None:
        style = "red" if data.get("stream") == "stderr" else "dim"
        for line in log_lines(data):
            self.progress.line(line, style=style)


def log_lines(data: dict[str, Any]) -> list[str]:
    """A ``log`` event's text as ``STEP STREAM | LINE`` lines (a cut is said, not hidden)."""
    prefix = f"{data.get('step') or 'spell'} {data.get('stream') or 'stdout'}"
    lines = [f"{prefix} | {text}" for text in str(data.get("text") or "").splitlines()]
    if data.get("truncated"):
        lines.append(f"{prefix} | (more output was cut)")
    return lines


def cast_remote(
    spell_id: str,
    *,
    version: str | None,
    params: tuple[str, ...],
    input_file: Path | None,
    profile: str | None,
    as_json: bool,
    dry_run: bool = False,
) -> None:
    """Cast on the server, follow the events to the end, print the result and artifact links."""
    if dry_run:
        # Casting for real when a dry run was asked for would spend money the caster did not mean to.
        raise InvalidInput(
            "--dry-run checks a local cast; a remote cast has no dry run",
            hint=f"install it and dry-run it here: spell install server:{spell_id}",
        )
    from spell.client.models import ended

    document = cast_input(params, input_file)
    with remote_client(profile) as client:
        server = client.settings.base_url
        with Progress(f"casting {spell_id} on {server}", quiet=as_json) as progress:
            cast = client.casts.create(spell_id, document, version=version)
            progress.line(f"cast {cast.id} ({cast.spell_id}@{cast.version})")
            if not ended(cast):
                try:
                    cast = client.casts.wait(cast.id, on_event=CastDisplay(progress).event)
                except KeyboardInterrupt:
                    # Ctrl-C stops watching, not the cast: say so, and how to stop it too.
                    sys.stderr.write(
                        f"spell: stopped following {cast.id}; it goes on on the server "
                        f"(spell casts cancel {cast.id} stops it)\n"
                    )
                    raise
        artifacts = client.casts.artifacts(cast.id).items
    links = [{**a.model_dump(), "url": absolute_url(server, a.url)} for a in artifacts]
    if as_json:
        emit({**cast.model_dump(), "server": server, "artifacts": links}, as_json=True)
    else:
        emit(None, as_json=False, human=result_text(cast, artifacts, server))
    raise_for_cast(cast)


def result_text(cast: CastOut, artifacts: list[ArtifactOut], server: str) -> str:
    """The human summary of an ended cast."""
    lines = [f"{cast.id} {cast.status} ({cast.spell_id}@{cast.version})"]
    if cast.output is not None:
        lines.append("output: " + json.dumps(cast.output, indent=2, sort_keys=True))
    if artifacts:
        lines.append("artifacts:")
        lines += [f"  {a.name}  {a.size} B  {absolute_url(server, a.url)}" for a in artifacts]
        lines.append(f"download one: spell artifacts get {cast.id} {artifacts[0].name}")
    return "\n".join(lines)


def raise_for_cast(cast: CastOut) -> None:
    """Nothing for a succeeded cast; otherwise its error, as the class of its code (exit code by family)."""
    from spell.errors import RuntimeFailure, SpellError, error_class

    if cast.status == "succeeded":
        return
    code = (cast.error.code if cast.error else None) or cast.status.upper()
    message = (cast.error.message if cast.error else None) or f"the cast ended {cast.status}"
    cls = error_class(code) or RuntimeFailure
    # Built without the class's own __init__: some leaves take objects only the server has.
    error = cls.__new__(cls)
    SpellError.__init__(
        error,
        f"cast {cast.id} {cast.status}: {message}",
        details={"cast_id": cast.id, "status": cast.status, "code": code},
        hint=f"spell casts logs {cast.id}",
    )
    if error.code != code:
        vars(error)["code"] = code  # a status with no class of its own keeps its name
    raise error
