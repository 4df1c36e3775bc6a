"""Fixtures of the WASM runtime tests: a runtime, and bundles built from the WAT corpus."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import wasmtime

from spell.bundle.manifest import Capabilities, IoSpec, RuntimeSpec, SpellManifest, WasmSpec
from spell.config.wasm import WasmSettings
from spell.runtimes.base import CastRequest
from spell.runtimes.wasm import WasmRuntime

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "wasm"
HELLO_WAT = Path(__file__).resolve().parents[3] / "examples" / "spells" / "hello-wasm" / "hello.wat"

MakeCast = Callable[..., CastRequest]


def compile_wat(name: str) -> bytes:
    """Compile a WAT file of the corpus (or ``hello``) to a module."""
    source = HELLO_WAT if name == "hello" else ASSETS / f"{name}.wat"
    return bytes(wasmtime.wat2wasm(source.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def runtime() -> Iterator[WasmRuntime]:
    rt = WasmRuntime(WasmSettings(max_memory_bytes=64 * 1024 * 1024), tick_s=0.002)
    yield rt
    rt.close()


@pytest.fixture
def make_cast(tmp_path: Path) -> MakeCast:
    """Build a bundle folder holding one compiled module and return a cast request for it."""
    counter = iter(range(1_000_000))

    def build(
        source: str | bytes,
        *,
        input: Any = None,
        policy: Capabilities | None = None,
        output_format: str = "json",
        resources: dict[str, str] | None = None,
        **wasm: Any,
    ) -> CastRequest:
        bundle = tmp_path / f"bundle{next(counter)}"
        bundle.mkdir()
        (bundle / "spell.wasm").write_bytes(compile_wat(source) if isinstance(source, str) else source)
        for rel, text in (resources or {}).items():
            target = bundle / "resources" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        manifest = SpellManifest(
            id="tests/corpus",
            version="1.0.0",
            name="corpus",
            runtime=RuntimeSpec(execution="wasm", wasm=WasmSpec(**wasm), policy=policy or Capabilities()),
            io=IoSpec.from_dict({"output_format": output_format}),
        )
        return CastRequest(bundle_dir=bundle, manifest=manifest, input=input, work_dir=bundle.parent / "work")

    return build
