"""``spell init NAME --template wat|c|rust``: scaffold a WASM spell project with a build script."""

from __future__ import annotations

import os
import shlex
from importlib.resources import files
from pathlib import Path

import click

from spell.bundle.manifest import ID_PATTERN
from spell.cli.output import emit, json_option
from spell.errors import AlreadyExists, InvalidInput

__all__ = ["TEMPLATES", "command", "next_steps", "scaffold"]

TEMPLATES = {"wat": "main.wat", "c": "main.c", "rust": "main.rs"}


@click.command(name="init")
@click.argument("name")
@click.option(
    "--template",
    "-t",
    type=click.Choice(sorted(TEMPLATES)),
    default="wat",
    show_default=True,
    help="Source language: WAT (no toolchain), C (clang + wasi-libc) or Rust (rustc, wasm32-wasi).",
)
@click.option(
    "--publisher", default="local", show_default=True, help="Publisher part of the id when NAME has none."
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to create (default: ./<name>).",
)
@json_option
def command(name: str, template: str, publisher: str, directory: Path | None, as_json: bool) -> None:
    """Create a new spell project NAME (``name`` or ``publisher/name``) from a template.

    The project holds spell.yaml (runtime wasm, every capability denied), schema.json, the source
    and build.sh. The WAT template is built at once, so it casts right away; C and Rust need
    ./build.sh first. The commands printed under "next steps" take the project from here to a
    cast on this machine: build, make a key, trust it, sign, install, cast (--json lists them
    as "next").

    \b
    Examples:
      spell init hello                      # WAT, id local/hello, folder ./hello
      spell init acme/wc --template c       # C, id acme/wc, folder ./wc
    """
    spell_id = name if "/" in name else f"{publisher}/{name}"
    target = directory or Path(spell_id.rsplit("/", 1)[1])
    created = scaffold(spell_id, template=template, target=target)
    built = "spell.wasm" in created
    steps = next_steps(spell_id, target, built=built)
    data = {
        "id": spell_id,
        "template": template,
        "path": str(target),
        "files": created,
        "built": built,
        "next": steps,
    }
    human = [f"created {spell_id} in {target} ({template})", "next steps:", *(f"  {c}" for c in steps)]
    emit(data, as_json=as_json, human="\n".join(human))


def next_steps(spell_id: str, target: Path, *, built: bool) -> list[str]:
    """Shell commands from a new project to its first local cast, run one after another."""
    publisher = spell_id.split("/", 1)[0]
    keys = f".spell-keys/{publisher}__default"
    return [
        f"cd {shlex.quote(str(target))}",
        *([] if built else ["./build.sh"]),
        f"spell sign keygen {publisher}",
        f'spell trust add {publisher} "$(cat {keys}.public.b64url.txt)"',
        f"spell sign bundle . --private-key {keys}.private.pem",
        "spell install .",
        f"spell cast {spell_id} -p name=world",
    ]


_SUFFIX = ".tmpl"


def scaffold(spell_id: str, *, template: str, target: Path) -> list[str]:
    """Create ``target`` from ``template``; returns the created file names, sorted."""
    if not ID_PATTERN.fullmatch(spell_id):
        raise InvalidInput(
            f"{spell_id!r} is not a spell id",
            hint="use lowercase letters, digits, '.', '_' or '-', like acme/word-count",
            details={"id": spell_id},
        )
    source = files("spell") / "templates" / template
    if not source.is_dir():
        raise InvalidInput(f"no template named {template!r}", details={"template": template})
    if target.exists() and any(target.iterdir()):
        raise AlreadyExists(
            f"{target} exists and is not empty",
            details={"path": str(target)},
            hint="choose another NAME or --dir",
        )
    target.mkdir(parents=True, exist_ok=True)
    name = spell_id.rsplit("/", 1)[1]
    created: list[str] = []
    for entry in source.iterdir():
        if not entry.name.endswith(_SUFFIX):
            continue
        out_name = entry.name.removesuffix(_SUFFIX)
        text = (
            entry.read_text(encoding="utf-8")
            .replace("__SPELL_ID__", spell_id)
            .replace("__SPELL_NAME__", name)
        )
        out = target / out_name
        out.write_text(text, encoding="utf-8")
        if out_name.endswith(".sh"):
            os.chmod(out, 0o755)  # noqa: S103 — a build script the maker runs
        created.append(out_name)
    if template == "wat":
        _build_wat(target)
        created.append("spell.wasm")
    return sorted(created)


def _build_wat(target: Path) -> None:
    import wasmtime

    wasm = wasmtime.wat2wasm((target / "main.wat").read_text(encoding="utf-8"))
    (target / "spell.wasm").write_bytes(bytes(wasm))
