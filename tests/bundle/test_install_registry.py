from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from spell.bundle.digest import bundle_digest
from spell.bundle.install import install
from spell.bundle.loaders import load_manifest
from spell.bundle.registry import set_default_index
from spell.bundle.sources import FetchContext
from spell.bundle.sources.registry import parse_registry_ref, resolve_registry_source
from spell.bundle.store import LocalStore
from spell.errors import SpellError
from tests.bundle.spells import make_git_repo, snapshot


def _setup(tmp_path: Path, **entry: Any) -> tuple[FetchContext, dict[str, Any]]:
    """A git repo, an index pinning it (override fields with ``entry``) and a registry config."""
    repo = tmp_path / "repo"
    commit = make_git_repo(repo)
    digest = bundle_digest(repo, load_manifest(repo)).text
    spell = {"id": "acme/hello", "version": "1.0.0", "source": f"file://{repo}#v1", "commit": commit}
    spell["digest"] = digest
    spell.update(entry)
    spells = [{k: v for k, v in spell.items() if v is not None}]
    index = tmp_path / "spell-index.v1.json"
    index.write_text(json.dumps({"version": "v1", "spells": spells}))
    config = tmp_path / "home" / "registry.json"
    set_default_index(config, index.as_uri())
    return FetchContext(registry_file=config), spell


def _refused(tmp_path: Path, source: str, ctx: FetchContext) -> str:
    store = LocalStore(tmp_path / "home" / "spells")
    before = snapshot(store.root)
    with pytest.raises(SpellError) as exc:
        install(source, store, ctx)
    assert snapshot(store.root) == before
    return exc.value.code


def test_registry_install_checks_both_pins_and_records_provenance(tmp_path: Path) -> None:
    ctx, spell = _setup(tmp_path)
    outcome = install("registry:acme/hello@1.0.0", LocalStore(tmp_path / "home" / "spells"), ctx)
    record = outcome.spell.source
    assert record is not None
    assert (record.kind, record.commit, record.digest) == ("registry", spell["commit"], spell["digest"])
    assert record.registry == "default"
    assert record.url == f"file://{tmp_path / 'repo'}"


def test_registry_install_without_version_takes_the_latest(tmp_path: Path) -> None:
    ctx, _ = _setup(tmp_path)
    resolved = resolve_registry_source("registry:acme/hello", ctx)
    assert resolved.entry.version == "1.0.0"
    assert parse_registry_ref("registry:acme/hello@latest").version is None


def test_a_commit_pin_that_does_not_match_is_refused(tmp_path: Path) -> None:
    ctx, _ = _setup(tmp_path, commit="0" * 40)
    assert _refused(tmp_path, "registry:acme/hello@1.0.0", ctx) == "PIN_MISMATCH"


def test_a_digest_pin_that_does_not_match_is_refused(tmp_path: Path) -> None:
    ctx, _ = _setup(tmp_path, digest="sha256:" + "0" * 64)
    assert _refused(tmp_path, "registry:acme/hello@1.0.0", ctx) == "PIN_MISMATCH"


@pytest.mark.parametrize(
    ("missing", "policy"), [("commit", "both"), ("digest", "digest"), ("commit", "commit")]
)
def test_a_missing_required_pin_is_refused(tmp_path: Path, missing: str, policy: str) -> None:
    ctx, _ = _setup(tmp_path, **{missing: None})
    ctx = FetchContext(registry_file=ctx.registry_file, required_pins=policy)
    assert _refused(tmp_path, "registry:acme/hello@1.0.0", ctx) == "PIN_REQUIRED"


def test_pins_are_optional_when_the_policy_is_none(tmp_path: Path) -> None:
    ctx, _ = _setup(tmp_path, commit=None, digest=None)
    ctx = FetchContext(registry_file=ctx.registry_file, required_pins="none")
    outcome = install("registry:acme/hello", LocalStore(tmp_path / "home" / "spells"), ctx)
    assert outcome.status == "installed"


def test_an_unknown_pin_policy_is_invalid_input(tmp_path: Path) -> None:
    ctx, _ = _setup(tmp_path)
    ctx = FetchContext(registry_file=ctx.registry_file, required_pins="some")
    assert _refused(tmp_path, "registry:acme/hello@1.0.0", ctx) == "VALIDATION_ERROR"


def test_an_entry_source_that_is_not_a_pinned_git_url_is_refused(tmp_path: Path) -> None:
    ctx, _ = _setup(tmp_path, source="/some/folder")
    assert _refused(tmp_path, "registry:acme/hello@1.0.0", ctx) == "INVALID_REGISTRY"


def test_unknown_ids_versions_and_indexes_are_not_found(tmp_path: Path) -> None:
    ctx, _ = _setup(tmp_path)
    assert _refused(tmp_path, "registry:acme/other", ctx) == "SPELL_NOT_FOUND"
    assert _refused(tmp_path, "registry:acme/hello@2.0.0", ctx) == "VERSION_NOT_FOUND"
    mirror = FetchContext(registry_file=ctx.registry_file, registry_name="mirror")
    assert _refused(tmp_path, "registry:acme/hello", mirror) == "REGISTRY_NOT_FOUND"


def test_registry_install_without_a_config_is_registry_not_found(tmp_path: Path) -> None:
    ctx = FetchContext(registry_file=tmp_path / "home" / "registry.json")
    assert _refused(tmp_path, "registry:acme/hello", ctx) == "REGISTRY_NOT_FOUND"


@pytest.mark.parametrize("source", ["registry:", "registry:@1.0.0", "registry:acme/hello@"])
def test_malformed_registry_locators_are_invalid_input(tmp_path: Path, source: str) -> None:
    ctx, _ = _setup(tmp_path)
    assert _refused(tmp_path, source, ctx) == "VALIDATION_ERROR"
