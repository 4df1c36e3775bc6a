"""Spell bundles for server tests: real WASM modules (from WAT), signed with a fresh Ed25519 key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import wasmtime
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spell.bundle.archive import pack_bundle
from spell.signing.keys import public_key_to_b64url
from spell.signing.signature import sign_bundle

HELLO_WAT = """
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 64) "{\\"greeting\\":\\"hello\\",\\"input\\":")
  (data (i32.const 128) "}")
  (func $write (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16))))
  (func (export "_start")
    (local $used i32) (local $n i32)
    (block $eof
      (loop $more
        (i32.store (i32.const 0) (i32.add (i32.const 1024) (local.get $used)))
        (i32.store (i32.const 4) (i32.sub (i32.const 60000) (local.get $used)))
        (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)))
        (local.set $n (i32.load (i32.const 16)))
        (br_if $eof (i32.eqz (local.get $n)))
        (local.set $used (i32.add (local.get $used) (local.get $n)))
        (br $more)))
    (call $write (i32.const 64) (i32.const 28))
    (call $write (i32.const 1024) (local.get $used))
    (call $write (i32.const 128) (i32.const 1))))
"""

SPIN_WAT = """
(module
  (memory (export "memory") 1)
  (func (export "_start") (loop $forever (br $forever))))
"""
# The operator's maximum fuel (SPELL_WASM_MAX_FUEL's default): a spinning spell that asks for it
# runs to its wall-clock limit, however fast the machine burns the default fuel.
SPIN_FUEL = 10_000_000_000


def nested_json_wat(depth: int) -> str:
    """A module printing ``depth`` times ``[`` then as many ``]``: valid JSON nested ``depth`` levels."""
    pages = (1024 + 2 * depth) // 65536 + 1
    return f"""
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") {pages})
  (func (export "_start")
    (memory.fill (i32.const 1024) (i32.const 0x5b) (i32.const {depth}))
    (memory.fill (i32.const {1024 + depth}) (i32.const 0x5d) (i32.const {depth}))
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const {2 * depth}))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))))
"""


NAME_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string", "maxLength": 50}},
    "required": ["name"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Publisher:
    """A publisher name with a signing key."""

    name: str
    key_id: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> str:
        """SPKI-DER base64url, as registered on the server."""
        return public_key_to_b64url(self.private_key.public_key())


def new_publisher(name: str = "acme", key_id: str = "k1") -> Publisher:
    """A publisher with a fresh key."""
    return Publisher(name=name, key_id=key_id, private_key=Ed25519PrivateKey.generate())


def wasm_bundle(
    dest: Path,
    spell_id: str,
    *,
    version: str = "1.0.0",
    wat: str = HELLO_WAT,
    schema: dict[str, object] | None = None,
    timeout_ms: int = 10_000,
    signer: Publisher | None = None,
    fs_write: tuple[str, ...] = (),
    net_allow: tuple[str, ...] = (),
    fuel: int | None = None,
) -> Path:
    """Write a wasm spell folder (signed when ``signer`` is given)."""
    policy = (f"    fs_write: [{', '.join(fs_write)}]\n" if fs_write else "") + (
        f"    net_allow: [{', '.join(net_allow)}]\n" if net_allow else ""
    )
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "spell.wasm").write_bytes(wasmtime.wat2wasm(wat))
    (dest / "schema.json").write_text(
        json.dumps(schema if schema is not None else NAME_SCHEMA), encoding="utf-8"
    )
    (dest / "spell.yaml").write_text(
        f"id: {spell_id}\nversion: {version}\nname: {spell_id.split('/')[-1]}\nsummary: test spell\n"
        f"inputs_schema: ./schema.json\nruntime:\n  execution: wasm\n  wasm:\n    module: spell.wasm\n"
        f"    timeout_ms: {timeout_ms}\n"
        + (f"    fuel: {fuel}\n" if fuel is not None else "")
        + (f"  policy:\n{policy}" if policy else ""),
        encoding="utf-8",
    )
    if signer is not None:
        sign_bundle(dest, signer.private_key, key_id=signer.key_id)
    return dest


def host_bundle(dest: Path, spell_id: str, *, script: str, signer: Publisher) -> Path:
    """Write a signed host spell with one shell step."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "schema.json").write_text('{"type": "object"}', encoding="utf-8")
    (dest / "steps").mkdir()
    step = dest / "steps" / "run.sh"
    step.write_text(script, encoding="utf-8")
    step.chmod(0o755)
    (dest / "spell.yaml").write_text(
        f"id: {spell_id}\nversion: 1.0.0\nname: host\ninputs_schema: ./schema.json\n"
        "runtime:\n  execution: host\n  platforms: [linux/amd64, linux/arm64]\n"
        "steps:\n  - uses: shell\n    name: run\n    run: steps/run.sh\n",
        encoding="utf-8",
    )
    sign_bundle(dest, signer.private_key, key_id=signer.key_id)
    return dest


def archive_of(bundle: Path) -> bytes:
    """The canonical archive of a bundle folder."""
    return pack_bundle(bundle)
