"""Local casts pick the api runtime, under the local egress policy and without a signer."""

from __future__ import annotations

from spell.bundle.manifest import SpellManifest
from spell.local.dispatch import RuntimeChoice, runtime_for
from spell.runtimes.api import ApiRuntime
from spell.runtimes.builtin import BuiltinRuntime
from spell.runtimes.egress import EgressPolicy
from spell.runtimes.host.engine import EngineSettings


def _manifest(runtime: dict[str, str]) -> SpellManifest:
    return SpellManifest.from_dict({"id": "acme/x", "version": "1.0.0", "name": "x", "runtime": runtime})


def test_an_api_spell_runs_unsigned_under_the_local_egress_policy() -> None:
    egress = EgressPolicy.loopback_allowed()
    runtime = runtime_for(
        _manifest({"execution": "api", "api_url": "https://api.example.com/"}),
        RuntimeChoice(engine=EngineSettings(egress=egress)),
    )
    assert isinstance(runtime, ApiRuntime)
    assert runtime.egress is egress
    assert runtime.signer is None


def test_a_builtin_spell_runs_in_process() -> None:
    runtime = runtime_for(_manifest({"execution": "builtin", "builtin": "echo"}), RuntimeChoice())
    assert isinstance(runtime, BuiltinRuntime)
