"""The supply-chain gate at publish: a public spell needs an SBOM, a component with an advisory at or
above the blocking score refuses it, lower ones warn, licences follow the deployment's lists; the SBOM is
kept with the version, and a later visibility change cannot skip the rule."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from spell.config.server import ServerSettings
from spell.config.supply import SupplySettings
from spell.errors import SpellError
from spell.models import SpellVersion
from spell.platform.auth.schemas import Principal
from spell.platform.server import Platform
from spell.platform.spell import publishers
from spell.platform.spell.service import Publication
from spell.platform.supply.repository import SupplyRepository
from spell.storage.session import Database
from tests.fixtures.bundles import Publisher, archive_of, cyclonedx, new_publisher, wasm_bundle
from tests.fixtures.server import seed_user
from tests.fixtures.supply import CRITICAL, LOW, MEDIUM, add_advisory, osv_record

SERDE_OLD = ("pkg:cargo/serde@1.0.100", "1.0.100", "MIT OR Apache-2.0")
SERDE_NEW = ("pkg:cargo/serde@1.0.200", "1.0.200", "MIT OR Apache-2.0")
ITOA = ("pkg:cargo/itoa@1.0.9", "1.0.9", "MIT")


@dataclass
class Maker:
    principal: Principal
    publisher: Publisher


@pytest.fixture
def gated(server_settings: ServerSettings, database: Database) -> Platform:
    """A platform with the default gate (public spells need a clean SBOM); publishing needs no workers."""
    return Platform.build(server_settings, runtimes={}, database=database)


def maker_on(platform: Platform) -> Maker:
    caller = seed_user(platform, "maker@example.com", ["maker"])
    signer = new_publisher("acme")
    with platform.db.unit_of_work() as uow:
        principal = platform.auth.authenticate_key(uow, caller.token)
        publishers.register_key(uow, principal, "acme", key_id=signer.key_id, public_key=signer.public_key)
    return Maker(principal, signer)


def publish(
    platform: Platform,
    maker: Maker,
    folder: Path,
    *,
    sbom: dict[str, object] | None,
    visibility: str = "public",
    version: str = "1.0.0",
) -> Publication:
    bundle = wasm_bundle(folder, "acme/hello", version=version, signer=maker.publisher, sbom=sbom)
    with platform.db.unit_of_work() as uow:
        return platform.spells.publish_with_warnings(
            uow, maker.principal, archive_of(bundle), visibility=visibility
        )


def refused(platform: Platform, maker: Maker, folder: Path, **kwargs: object) -> SpellError:
    with pytest.raises(SpellError) as caught:
        publish(platform, maker, folder, **kwargs)  # type: ignore[arg-type]
    assert caught.value.status_code == 422
    return caught.value


def versions(platform: Platform) -> list[SpellVersion]:
    with platform.db.unit_of_work(write=False) as uow:
        return platform.spells.repo.versions(uow, "acme/hello")


def test_a_clean_sbom_publishes_and_is_kept_with_the_version(gated: Platform, tmp_path: Path) -> None:
    maker = maker_on(gated)
    done = publish(gated, maker, tmp_path / "b", sbom=cyclonedx(SERDE_NEW, ITOA))
    assert done.warnings == ()
    with gated.db.unit_of_work(write=False) as uow:
        kept = SupplyRepository().get_sbom(uow, done.version.id)
    assert kept is not None
    assert kept.path == "sbom.cdx.json"
    assert [c.purl for c in kept.components] == ["pkg:cargo/serde@1.0.200", "pkg:cargo/itoa@1.0.9"]


def test_a_public_spell_without_an_sbom_is_refused_and_nothing_is_recorded(
    gated: Platform, tmp_path: Path
) -> None:
    maker = maker_on(gated)
    error = refused(gated, maker, tmp_path / "b", sbom=None)
    assert error.code == "SBOM_REQUIRED"
    assert versions(gated) == []
    assert not any(
        p.name != "store" and not p.name.startswith(".") for p in gated.spells.bundles_dir.iterdir()
    )


def test_a_private_spell_without_an_sbom_publishes(gated: Platform, tmp_path: Path) -> None:
    maker = maker_on(gated)
    done = publish(gated, maker, tmp_path / "b", sbom=None, visibility="private")
    assert done.version.version == "1.0.0"
    with gated.db.unit_of_work(write=False) as uow:
        assert SupplyRepository().get_sbom(uow, done.version.id) is None


def test_a_new_version_is_gated_at_its_spells_visibility_not_the_requested_one(
    gated: Platform, tmp_path: Path
) -> None:
    maker = maker_on(gated)
    publish(gated, maker, tmp_path / "a", sbom=None, visibility="private")
    # ``visibility`` only chooses a new spell's; this one stays private, so it needs no SBOM.
    done = publish(gated, maker, tmp_path / "b", sbom=None, visibility="public", version="1.1.0")
    assert done.version.version == "1.1.0"


def test_a_critical_advisory_matched_by_range_refuses_the_publish(gated: Platform, tmp_path: Path) -> None:
    maker = maker_on(gated)
    add_advisory(
        gated, osv_record("RUSTSEC-2099-0001", "serde", introduced="1.0.0", fixed="1.0.150", vector=CRITICAL)
    )
    error = refused(gated, maker, tmp_path / "b", sbom=cyclonedx(SERDE_OLD, ITOA))
    assert error.code == "VULNERABLE_DEPENDENCY"
    text = json.dumps(error.details)
    assert "RUSTSEC-2099-0001" in text
    assert "pkg:cargo/serde@1.0.100" in text
    assert "9.8" in text
    assert versions(gated) == []
    # The fixed version is outside the range: it publishes.
    done = publish(gated, maker, tmp_path / "c", sbom=cyclonedx(SERDE_NEW, ITOA))
    assert done.warnings == ()


@pytest.mark.parametrize("vector", [MEDIUM, LOW], ids=["medium", "low"])
def test_an_advisory_below_the_blocking_score_publishes_with_a_warning(
    gated: Platform, tmp_path: Path, vector: str
) -> None:
    maker = maker_on(gated)
    add_advisory(
        gated, osv_record("RUSTSEC-2099-0002", "serde", introduced="1.0.0", fixed="1.0.150", vector=vector)
    )
    done = publish(gated, maker, tmp_path / "b", sbom=cyclonedx(SERDE_OLD))
    assert len(done.warnings) == 1
    assert "RUSTSEC-2099-0002" in done.warnings[0]


def test_a_denied_licence_refuses_the_publish(
    server_settings: ServerSettings, database: Database, tmp_path: Path
) -> None:
    platform = Platform.build(
        server_settings, runtimes={}, database=database, supply=SupplySettings(license_deny=("GPL-3.0-only",))
    )
    maker = maker_on(platform)
    gpl = ("pkg:cargo/gplthing@0.1.0", "0.1.0", "GPL-3.0-only")
    error = refused(platform, maker, tmp_path / "b", sbom=cyclonedx(ITOA, gpl))
    assert error.code == "LICENSE_NOT_ALLOWED"
    assert "GPL-3.0-only" in json.dumps(error.details)
    assert publish(platform, maker, tmp_path / "c", sbom=cyclonedx(ITOA)).warnings == ()


def test_an_invalid_sbom_is_refused(gated: Platform, tmp_path: Path) -> None:
    maker = maker_on(gated)
    unversioned = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "components": [{"type": "library", "name": "serde", "purl": "pkg:cargo/serde"}],
    }
    error = refused(gated, maker, tmp_path / "b", sbom=unversioned, visibility="private")
    assert error.code == "INVALID_SBOM"


def test_a_deployment_without_the_requirement_publishes_public_spells_without_an_sbom(
    server_settings: ServerSettings, database: Database, tmp_path: Path
) -> None:
    platform = Platform.build(
        server_settings, runtimes={}, database=database, supply=SupplySettings(sbom_required_for=())
    )
    done = publish(platform, maker_on(platform), tmp_path / "b", sbom=None)
    assert done.version.version == "1.0.0"


def test_making_a_spell_public_needs_every_unyanked_version_to_have_an_sbom(
    gated: Platform, tmp_path: Path
) -> None:
    maker = maker_on(gated)
    publish(gated, maker, tmp_path / "a", sbom=None, visibility="private")
    publish(gated, maker, tmp_path / "b", sbom=cyclonedx(ITOA), visibility="private", version="1.1.0")
    for visibility in ("public", "public"):
        with gated.db.unit_of_work() as uow, pytest.raises(SpellError) as caught:
            gated.spells.set_visibility(uow, maker.principal, "acme/hello", visibility)
        assert caught.value.code == "SBOM_REQUIRED"
        assert caught.value.details["versions"] == ["1.0.0"]
    with gated.db.unit_of_work() as uow:
        gated.spells.set_visibility(uow, maker.principal, "acme/hello", "unlisted")  # not required there
        gated.spells.set_yanked(uow, maker.principal, "acme/hello", "1.0.0", yanked=True)
    with gated.db.unit_of_work() as uow:
        assert (
            gated.spells.set_visibility(uow, maker.principal, "acme/hello", "public").visibility == "public"
        )


def test_republishing_the_same_bundle_answers_with_the_recorded_version_without_a_new_verdict(
    gated: Platform, tmp_path: Path
) -> None:
    maker = maker_on(gated)
    first = publish(gated, maker, tmp_path / "b", sbom=cyclonedx(SERDE_OLD))
    add_advisory(
        gated, osv_record("RUSTSEC-2099-0001", "serde", introduced="1.0.0", fixed="1.0.150", vector=CRITICAL)
    )
    bundle = tmp_path / "b"  # the same folder, signed once: the same digest
    with gated.db.unit_of_work() as uow:
        again = gated.spells.publish_with_warnings(uow, maker.principal, archive_of(bundle))
    assert (again.version.id, again.warnings) == (first.version.id, ())
