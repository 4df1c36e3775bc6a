"""Clone mode end to end: buy a clone spell with ``spell purchase``, install it from the server with its
licence, verify it against the local trust store and cast its billed version locally."""

from __future__ import annotations

from pathlib import Path

from spell.signing.signature import sign_bundle
from tests.cli.remote_world import new_caster, new_maker, private_homes
from tests.cli.run_cli import run_cli
from tests.client.live_server import LiveServer
from tests.fixtures.bundles import wasm_bundle
from tests.fixtures.live import database_backend, live

__all__ = ["database_backend", "live", "private_homes"]

CLONE = (
    "pricing:\n  model: one_time\n  amount_micros: 400000\n  clone: true\n"
    "billing:\n  enabled: true\n  mode: upfront\n  currency: USD\n  max_amount: 0.4\n"
)


def test_a_bought_clone_spell_installs_verifies_and_casts_locally(live: LiveServer, tmp_path: Path) -> None:
    maker = new_maker(live, tmp_path)
    publisher = maker.caller.publisher
    assert publisher is not None
    bundle = wasm_bundle(tmp_path / "clone", "acme/clone")
    with (bundle / "spell.yaml").open("a", encoding="utf-8") as manifest:
        manifest.write(CLONE)
    sign_bundle(bundle, publisher.private_key, key_id=publisher.key_id)
    published = run_cli("publish", str(bundle), "--keys-dir", str(maker.keys_dir), "--profile", "maker")
    assert published.exit_code == 0, published.stderr
    new_caster(live, micros=1_000_000)

    refused = run_cli("install", "server:acme/clone", "--profile", "caster", "--json")
    assert refused.error()["code"] == "PURCHASE_REQUIRED"
    bought = run_cli("purchase", "acme/clone", "--profile", "caster", "--json")
    assert bought.exit_code == 0, bought.stderr
    assert (bought.json()["charged"], bought.json()["clone"]) == (True, True)
    again = run_cli("purchase", "acme/clone", "--profile", "caster", "--json")
    assert again.json()["charged"] is False
    assert run_cli("budget", "show", "--profile", "caster", "--json").json()["balance_micros"] == 600_000
    human = run_cli("purchase", "acme/clone", "--profile", "caster").stdout
    assert "acme/clone is yours already" in human
    assert "spell install server:acme/clone" in human
    missing = run_cli("purchase", "acme/nope", "--profile", "caster", "--json")
    assert (missing.exit_code, missing.error()["code"]) == (3, "SPELL_NOT_FOUND")

    installed = run_cli("install", "server:acme/clone", "--profile", "caster", "--json")
    assert installed.exit_code == 0, installed.stderr
    assert installed.json()["license"]["name"] == "acme/clone"
    assert installed.json()["license"]["issuer"].startswith("platform:")
    assert run_cli("trust", "add", "acme", publisher.public_key, "--key-id", publisher.key_id).exit_code == 0
    verified = run_cli("verify", "acme/clone", "--json")
    assert verified.exit_code == 0, verified.stderr
    cast = run_cli("cast", "acme/clone", "-p", "name=ada", "--allow-billing", "--json")
    assert cast.exit_code == 0, cast.stderr
    reinstalled = run_cli("install", "server:acme/clone@1.0.0", "--profile", "caster", "--json", "--force")
    assert reinstalled.exit_code == 0, reinstalled.stderr  # the issuer is trusted already: kept as is
    assert reinstalled.json()["source"]["signature"] == "verified"
    run_cli("license", "remove", "acme/clone")
    unlicensed = run_cli("cast", "acme/clone", "-p", "name=ada", "--allow-billing", "--json")
    assert unlicensed.error()["code"] == "ENTITLEMENT_REQUIRED"
