"""Bundle folders for tests: a minimal host spell, a wasm spell and a copy of the compat vectors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

ASSETS = Path(__file__).resolve().parents[1] / "assets"
COMPAT = ASSETS / "compat" / "spell-runtime-v1"


def compat_expected() -> dict[str, Any]:
    """The figures spell-runtime computed for the compat bundle."""
    data: dict[str, Any] = json.loads((COMPAT / "expected.json").read_text(encoding="utf-8"))
    return data


def copy_compat_bundle(dest: Path) -> Path:
    """A writable copy of the compat bundle (modes kept) at ``dest``."""
    shutil.copytree(COMPAT / "greet", dest)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    return dest


def make_host_bundle(
    dest: Path, *, spell_id: str = "acme/hello", files: dict[str, str] | None = None
) -> Path:
    """Write a small host spell with one shell step and any extra ``files`` (relative path -> text)."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "spell.yaml").write_text(
        f"id: {spell_id}\nversion: 1.0.0\nname: Hello\ninputs_schema: ./schema.json\n"
        "runtime:\n  execution: host\nsteps:\n  - uses: shell\n    name: hello\n    run: steps/hello.sh\n",
        encoding="utf-8",
    )
    (dest / "schema.json").write_text('{"type": "object"}\n', encoding="utf-8")
    (dest / "steps").mkdir(exist_ok=True)
    script = dest / "steps" / "hello.sh"
    script.write_text("#!/bin/sh\necho hello\n", encoding="utf-8")
    script.chmod(0o755)
    for rel, text in (files or {}).items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return dest


def make_wasm_bundle(dest: Path) -> Path:
    """Write a wasm spell (manifest.toml) with a module and one resource."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "manifest.toml").write_text(
        '[spell]\nkey = "acme/wasm"\nname = "Wasm"\nversion = "0.1.0"\n\n[runtime]\nentry = "module.wasm"\n',
        encoding="utf-8",
    )
    (dest / "schema.json").write_text('{"type": "object"}\n', encoding="utf-8")
    (dest / "module.wasm").write_bytes(b"\0asm\1\0\0\0")
    (dest / "resources").mkdir()
    (dest / "resources" / "data.txt").write_text("data\n", encoding="utf-8")
    (dest / "README.md").write_text("not covered\n", encoding="utf-8")
    return dest
