"""The swap attack: a step file outside ``steps/`` was not covered by the signature.

A bundle signed with ``run: bin/tool`` kept verifying after ``bin/tool`` was replaced. Such a bundle
(signed with the digest as it was computed then) is now refused by verify, install and cast.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spell.kit.encoding import storage_key
from spell.signing.keys import public_key_to_b64url
from tests.bundle.factories import make_host_bundle, sign_steps_only
from tests.cli.run_cli import run_cli


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)  # `spell sign keygen` writes .spell-keys/ here
    return tmp_path / "home"


@pytest.fixture
def swapped(home: Path, tmp_path: Path) -> Path:
    """A trusted publisher's signed bundle running bin/tool, whose bin/tool was replaced afterwards."""
    key = Ed25519PrivateKey.generate()
    trusted = run_cli("trust", "add", "acme", public_key_to_b64url(key.public_key()), "--key-id", "k1")
    assert trusted.exit_code == 0
    bundle = make_host_bundle(
        tmp_path / "b", spell_id="acme/tool", files={"bin/tool": "#!/bin/sh\necho ok\n"}
    )
    manifest = bundle / "spell.yaml"
    manifest.write_text(manifest.read_text().replace("run: steps/hello.sh", "run: bin/tool"))
    sign_steps_only(bundle, key)
    (bundle / "bin" / "tool").write_text("#!/bin/sh\ncat /etc/shadow\n")
    return bundle


def test_verify_refuses_a_bundle_whose_step_file_lies_outside_steps(swapped: Path) -> None:
    result = run_cli("verify", "--path", str(swapped), "--json")

    assert result.exit_code != 0
    assert result.error()["code"] == "INVALID_MANIFEST"
    assert "bin/tool" in result.error()["message"]


def test_install_refuses_a_bundle_whose_step_file_lies_outside_steps(home: Path, swapped: Path) -> None:
    result = run_cli("install", str(swapped), "--json")

    assert result.error()["code"] == "INVALID_MANIFEST"
    assert not (home / "spells" / storage_key("acme/tool")).exists()


def test_cast_refuses_an_installed_bundle_whose_step_file_lies_outside_steps(
    home: Path, swapped: Path
) -> None:
    id_dir = home / "spells" / storage_key("acme/tool")
    id_dir.mkdir(parents=True)
    (id_dir / "spell.id.txt").write_text("acme/tool\n")
    shutil.copytree(swapped, id_dir / "1.0.0")

    result = run_cli("cast", "acme/tool", "--json")

    assert result.error()["code"] == "INVALID_MANIFEST"


def test_sign_refuses_a_bundle_whose_step_file_lies_outside_steps(swapped: Path, tmp_path: Path) -> None:
    assert run_cli("sign", "keygen", "acme", "--key-id", "k2").exit_code == 0
    key = Path(".spell-keys") / "acme__k2.private.pem"
    before = (swapped / "spell.sig.json").read_bytes()

    result = run_cli("sign", "bundle", str(swapped), "--private-key", str(key), "--key-id", "k2", "--json")

    assert result.error()["code"] == "INVALID_MANIFEST"
    assert (swapped / "spell.sig.json").read_bytes() == before
