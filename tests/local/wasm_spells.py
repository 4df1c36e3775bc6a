"""Make, sign and install WASM spells (from the WAT corpus) into a test SPELL_HOME."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import wasmtime
import yaml

from tests.local.harness import install
from tests.runtimes.host.bundles import SCHEMA

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "wasm"


def wasm_spell(
    root: Path, name: str, wat: str, *, policy: dict[str, Any] | None = None, **limits: Any
) -> str:
    """Install ``samples/<name>`` running ``tests/assets/wasm/<wat>.wat``; returns its id."""
    bundle = root / name
    bundle.mkdir(parents=True)
    source = (ASSETS / f"{wat}.wat").read_text(encoding="utf-8")
    (bundle / "spell.wasm").write_bytes(bytes(wasmtime.wat2wasm(source)))
    (bundle / "schema.json").write_text(SCHEMA, encoding="utf-8")
    runtime: dict[str, Any] = {"execution": "wasm", "wasm": {"module": "spell.wasm", **limits}}
    if policy:
        runtime["policy"] = policy
    manifest = {"id": f"samples/{name}", "version": "1.0.0", "name": name, "runtime": runtime}
    (bundle / "spell.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    install(bundle)
    return f"samples/{name}"
