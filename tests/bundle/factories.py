"""Bundle folders for tests: a minimal host spell, a wasm spell and a copy of the compat vectors."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spell.bundle.collation import sort_paths
from spell.bundle.digest import DOMAIN_TAG
from spell.kit.encoding import b64url_encode
from spell.signing.signature import SignatureFile, write_signature

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


def sign_steps_only(
    bundle: Path, key: Ed25519PrivateKey, *, publisher: str = "acme", key_id: str = "k1"
) -> None:
    """Sign a host bundle over what its digest covers (spell.yaml, schema.json, steps/), without
    loading its manifest: how a bundle whose step runs a file outside steps/ was signed before that
    was refused."""
    steps = [p.relative_to(bundle).as_posix() for p in (bundle / "steps").rglob("*") if p.is_file()]
    hasher = hashlib.sha256(DOMAIN_TAG)
    for rel in sort_paths(["spell.yaml", "schema.json", *steps]):
        hasher.update(b"file\0" + rel.encode() + b"\0" + (bundle / rel).read_bytes() + b"\0")
    digest = hasher.digest()
    write_signature(bundle, SignatureFile(publisher, key_id, digest.hex(), b64url_encode(key.sign(digest))))
