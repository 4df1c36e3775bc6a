"""Every example spell carries the SBOM `spell sbom generate` writes for it today (see sign.sh)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spell.sbom.document import read_sbom
from spell.sbom.generate import generate_sbom

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "spells"
FOLDERS = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())


def test_there_are_examples() -> None:
    assert len(FOLDERS) >= 8


@pytest.mark.parametrize("name", FOLDERS)
def test_each_example_sbom_is_valid_and_current(name: str) -> None:
    bundle = EXAMPLES / name
    sbom = read_sbom(bundle)
    assert sbom is not None, f"examples/spells/{name} has no SBOM: run examples/spells/sign.sh"
    fresh = generate_sbom(bundle, format=sbom.format)
    assert (bundle / fresh.name).read_bytes() == fresh.data, f"run examples/spells/sign.sh for {name}"


def test_the_compiled_examples_list_what_is_linked_into_them() -> None:
    rust = read_sbom(EXAMPLES / "dict-lookup-rust")
    c = read_sbom(EXAMPLES / "word-count-c")
    assert rust is not None
    assert c is not None
    assert [x.purl for x in rust.components] == ["pkg:deb/debian/libstd-rust-dev-wasm32@1.63.0%2Bdfsg1-2"]
    assert [x.purl for x in c.components] == ["pkg:deb/debian/wasi-libc@0.0~git20220510.9886d3d-2"]
