"""A step may only run files the signature covers: its ``run``/``rollback`` must lie under ``steps/``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spell.bundle.digest import bundle_digest
from spell.bundle.loaders import load_manifest, parse_toml_manifest, parse_yaml_manifest
from spell.errors import InvalidBundle, InvalidManifest
from spell.signing.signature import sign_bundle
from tests.bundle.factories import COMPAT, compat_expected, make_host_bundle

OUTSIDE = [
    "bin/tool",
    "tool.sh",
    "./bin/tool",
    "/usr/bin/env",
    "/steps/run.sh",
    "steps/../bin/tool",
    "./steps/../bin/tool",
    "steps/sub/../../bin/tool",
    "../steps/run.sh",
    "steps",
    "steps/",
    "steps//run.sh",
    "steps/./run.sh",
    ".steps/run.sh",
    "stepsx/run.sh",
]


def _host_doc(**step: object) -> dict[str, object]:
    return {
        "id": "acme/tool",
        "version": "1.0.0",
        "name": "tool",
        "runtime": {"execution": "host"},
        "steps": [{"uses": "shell", "name": "build", "run": "steps/run.sh", **step}],
    }


@pytest.mark.parametrize("field", ["run", "rollback"])
@pytest.mark.parametrize("path", OUTSIDE)
def test_a_step_file_outside_steps_is_refused_at_load_naming_the_step_and_path(field: str, path: str) -> None:
    with pytest.raises(InvalidManifest) as refused:
        parse_yaml_manifest(yaml.safe_dump(_host_doc(**{field: path})).encode())

    assert refused.value.code == "INVALID_MANIFEST"
    assert refused.value.details["errors"][0]["path"] == f"steps.0.{field}"
    message = refused.value.details["errors"][0]["message"]
    assert "'build'" in message
    assert repr(path) in message
    assert "move it" in message


@pytest.mark.parametrize("path", ["steps/run.sh", "./steps/run.sh", "steps/sub/run.sh", "steps/.hidden"])
def test_a_step_file_under_steps_is_accepted(path: str) -> None:
    manifest = parse_yaml_manifest(yaml.safe_dump(_host_doc(run=path, rollback=path)).encode())

    assert (manifest.steps[0].run, manifest.steps[0].rollback) == (path, path)


def test_a_toml_manifest_step_outside_steps_is_refused() -> None:
    text = b"""
[spell]
key = "acme/tool"
name = "tool"
version = "1.0.0"

[runtime]
entry = "host"

[[steps]]
uses = "shell"
name = "build"
run = "bin/tool"
"""
    with pytest.raises(InvalidManifest) as refused:
        parse_toml_manifest(text)

    assert refused.value.details["errors"][0]["path"] == "steps.0.run"


def test_signing_a_bundle_that_runs_a_file_outside_steps_is_refused(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b", files={"bin/tool": "#!/bin/sh\necho signed\n"})
    manifest = bundle / "spell.yaml"
    manifest.write_text(manifest.read_text().replace("run: steps/hello.sh", "run: bin/tool"))

    with pytest.raises(InvalidManifest):
        sign_bundle(bundle, Ed25519PrivateKey.generate(), key_id="k1")

    assert not (bundle / "spell.sig.json").exists()


def test_a_step_file_that_is_a_link_out_of_steps_is_refused_when_signing(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b", files={"bin/tool": "#!/bin/sh\necho swapped\n"})
    (bundle / "steps" / "hello.sh").unlink()
    os.symlink("../bin/tool", bundle / "steps" / "hello.sh")

    with pytest.raises(InvalidBundle) as refused:
        sign_bundle(bundle, Ed25519PrivateKey.generate(), key_id="k1")

    assert refused.value.details["path"] == "steps/hello.sh"
    assert not (bundle / "spell.sig.json").exists()


def test_a_steps_folder_that_is_a_link_out_of_the_bundle_is_refused_when_signing(tmp_path: Path) -> None:
    elsewhere = make_host_bundle(tmp_path / "elsewhere")
    bundle = make_host_bundle(tmp_path / "b")
    for path in sorted((bundle / "steps").iterdir()):
        path.unlink()
    (bundle / "steps").rmdir()
    os.symlink(elsewhere / "steps", bundle / "steps")

    with pytest.raises(InvalidBundle) as refused:
        sign_bundle(bundle, Ed25519PrivateKey.generate(), key_id="k1")

    assert refused.value.details["path"] == "steps"


def test_bundles_that_only_use_steps_keep_the_spell_runtime_digest() -> None:
    digest = bundle_digest(COMPAT / "greet", load_manifest(COMPAT / "greet"))

    assert digest.hex == compat_expected()["digest_sha256_hex"]
    assert all(rel.startswith("steps/") for rel in digest.files if rel not in ("spell.yaml", "schema.json"))
