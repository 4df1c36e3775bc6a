"""spell sbom generate / validate, through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spell.sbom.document import read_sbom
from tests.bundle.factories import make_host_bundle
from tests.cli.run_cli import run_cli

OSV = Path(__file__).resolve().parents[1] / "assets" / "osv"
COMPONENTS = """\
components:
  - {name: minimist, version: 1.2.0, type: npm, license: MIT}
  - {name: zlib, version: 1.3.1, type: generic, license: Zlib}
"""


@pytest.fixture(autouse=True)
def _no_supply_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate's defaults, whatever this machine sets."""
    for name in ("SBOM_REQUIRED_FOR", "BLOCK_SCORE", "LICENSE_ALLOW", "LICENSE_DENY"):
        monkeypatch.delenv(f"SPELL_SUPPLY_{name}", raising=False)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


def _bundle(tmp_path: Path, components: str = COMPONENTS) -> Path:
    bundle = make_host_bundle(tmp_path / "b")
    with (bundle / "spell.yaml").open("a", encoding="utf-8") as manifest:
        manifest.write(components)
    return bundle


def test_generate_writes_the_sbom_and_says_to_sign_again(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    result = run_cli("sbom", "generate", str(bundle))
    assert result.exit_code == 0, result.stderr
    assert "sign the bundle again" in result.stdout
    sbom = read_sbom(bundle)
    assert sbom is not None
    assert (sbom.format, [c.name for c in sbom.components]) == ("spdx", ["minimist", "zlib"])


def test_generate_json_names_the_file_and_the_components(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = _bundle(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    result = run_cli("sbom", "generate", str(bundle), "--format", "cyclonedx", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["path"] == str(bundle / "sbom.cdx.json")
    assert data["resign"] is True
    assert [c["purl"] for c in data["components"]] == ["pkg:npm/minimist@1.2.0", "pkg:generic/zlib@1.3.1"]
    written = json.loads((bundle / "sbom.cdx.json").read_text(encoding="utf-8"))
    assert written["metadata"]["timestamp"] == "2026-01-01T00:00:00Z"


def test_generate_reads_the_cargo_lock_given_with_from(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, "")
    lock = tmp_path / "Cargo.lock"
    lock.write_text(
        'version = 3\n[[package]]\nname = "serde"\nversion = "1.0.200"\n'
        'source = "registry+https://github.com/rust-lang/crates.io-index"\n',
        encoding="utf-8",
    )
    result = run_cli("sbom", "generate", str(bundle), "--from", str(lock), "--json")
    assert [c["purl"] for c in result.json()["components"]] == ["pkg:cargo/serde@1.0.200"]


def test_generate_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    assert run_cli("sbom", "generate", str(bundle)).exit_code == 0
    before = (bundle / "sbom.spdx.json").read_bytes()
    again = run_cli("sbom", "generate", str(bundle), "--format", "cyclonedx", "--json")
    assert (again.exit_code, again.error()["code"]) == (7, "ALREADY_EXISTS")
    assert "--force" in again.error()["hint"]
    assert (bundle / "sbom.spdx.json").read_bytes() == before
    forced = run_cli("sbom", "generate", str(bundle), "--format", "cyclonedx", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert sorted(p.name for p in bundle.glob("sbom.*")) == ["sbom.cdx.json"]


def test_generate_refuses_a_bad_source_date_epoch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "today")
    result = run_cli("sbom", "generate", str(_bundle(tmp_path)), "--json")
    assert (result.exit_code, result.error()["code"]) == (6, "VALIDATION_ERROR")
    assert not (tmp_path / "b" / "sbom.spdx.json").exists()


def test_validate_prints_the_components_and_the_verdict(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    run_cli("sbom", "generate", str(bundle))
    result = run_cli("sbom", "validate", str(bundle))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "sbom.spdx.json (SPDX 2.3): 2 components"
    assert lines[1] == "  minimist 1.2.0  pkg:npm/minimist@1.2.0  MIT"
    assert lines[-1] == "gate (public): passed"


def test_validate_with_advisories_warns_on_a_medium_one(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    run_cli("sbom", "generate", str(bundle))
    result = run_cli("sbom", "validate", str(bundle), "--advisories", str(OSV))
    assert result.exit_code == 0, result.stderr
    assert "warning: pkg:npm/minimist@1.2.0 is affected by GHSA-vh95-rmgr-6w4m" in result.stderr
    data = run_cli("sbom", "validate", str(bundle), "--advisories", str(OSV), "--json").json()
    assert (data["passed"], data["refusal"]) == (True, None)
    assert [f["advisory_id"] for f in data["findings"]] == ["GHSA-vh95-rmgr-6w4m"]
    assert [c["name"] for c in data["components"]] == ["minimist", "zlib"]


def test_validate_refuses_a_critical_advisory_with_the_error_envelope(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, "components:\n  - {name: pyyaml, version: '5.3', type: pypi}\n")
    run_cli("sbom", "generate", str(bundle))
    result = run_cli("sbom", "validate", str(bundle), "--advisories", str(OSV), "--json")
    assert (result.exit_code, result.error()["code"]) == (6, "VULNERABLE_DEPENDENCY")
    assert result.stdout == ""
    finding = result.error()["details"]["findings"][0]
    assert (finding["component"], finding["advisory_id"]) == ("pkg:pypi/pyyaml@5.3", "GHSA-8q59-q68h-6hv4")
    human = run_cli("sbom", "validate", str(bundle), "--advisories", str(OSV))
    assert human.exit_code == 6
    assert "blocks: pkg:pypi/pyyaml@5.3 is affected by GHSA-8q59-q68h-6hv4" in human.stdout
    assert human.stdout.splitlines()[-1] == "gate (public): refused"


def test_validate_without_an_sbom_depends_on_the_visibility(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    public = run_cli("sbom", "validate", str(bundle), "--json")
    assert (public.exit_code, public.error()["code"]) == (6, "SBOM_REQUIRED")
    private = run_cli("sbom", "validate", str(bundle), "--visibility", "private", "--json")
    assert private.exit_code == 0, private.stderr
    assert (private.json()["sbom"], private.json()["components"]) == (None, [])


def test_validate_follows_the_supply_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = _bundle(tmp_path)
    run_cli("sbom", "generate", str(bundle))
    monkeypatch.setenv("SPELL_SUPPLY_LICENSE_DENY", "Zlib")
    result = run_cli("sbom", "validate", str(bundle), "--json")
    assert (result.exit_code, result.error()["code"]) == (6, "LICENSE_NOT_ALLOWED")


def test_validate_refuses_an_invalid_sbom(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    (bundle / "sbom.cdx.json").write_text(
        '{"bomFormat": "CycloneDX", "specVersion": "1.4"}', encoding="utf-8"
    )
    result = run_cli("sbom", "validate", str(bundle), "--json")
    assert (result.exit_code, result.error()["code"]) == (6, "INVALID_SBOM")
    assert result.error()["details"] == {"path": "sbom.cdx.json", "field": "specVersion"}
