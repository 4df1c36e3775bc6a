"""The committed example spells verify against the shipped demo key and cast with their demo input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spell.bundle.loaders import load_manifest
from spell.signing.trust import TrustStore
from spell.signing.verifier import check_bundle_signature
from tests.local.harness import DEMO_PUBLIC, EXAMPLES

HOST_EXAMPLES = ["hello", "word-count", "http-call", "dag-demo"]


@pytest.mark.parametrize("name", HOST_EXAMPLES)
def test_example_verifies_against_the_demo_public_key(tmp_path: Path, name: str) -> None:
    trust = TrustStore(tmp_path / "trust")
    trust.add_key("samples", DEMO_PUBLIC, key_id="demo")
    bundle = EXAMPLES / name
    report = check_bundle_signature(bundle, load_manifest(bundle), trust)
    assert report.status == "verified", report.message


@pytest.mark.parametrize("name", HOST_EXAMPLES)
def test_example_has_a_demo_input_outside_the_digest(name: str) -> None:
    data = json.loads((EXAMPLES / name / "demo-input.json").read_text())
    assert isinstance(data, dict)
