"""The package's names: the policy loads alone, the rules and the client when first asked for."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import spell.runtimes.egress as egress
from spell.runtimes.egress import client, policy, rules

_PROBE = """
import json, sys
import spell.runtimes.egress as egress
def egress_modules():
    return sorted(m for m in sys.modules if m in {"socket", "http.client"} or "runtimes.egress" in m)
made = egress.EgressPolicy(allow_http=True)
before = egress_modules()
refused = egress.Refused
report = {"before": before, "after": egress_modules(), "allow_http": made.allow_http}
print(json.dumps({**report, "name": refused.__module__}))
"""


def test_a_policy_is_made_without_loading_the_rules_or_the_client() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True)
    report = json.loads(done.stdout)
    assert report["before"] == ["spell.runtimes.egress", "spell.runtimes.egress.policy"]
    assert report["allow_http"] is True
    assert "spell.runtimes.egress.client" in report["after"]
    assert "socket" in report["after"]
    assert report["name"] == "spell.runtimes.egress.client"


@pytest.mark.parametrize("name", egress.__all__)
def test_every_exported_name_is_the_one_its_module_defines(name: str) -> None:
    owner = {"EgressPolicy": policy}.get(name) or (client if hasattr(client, name) else rules)
    assert getattr(egress, name) is getattr(owner, name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        egress.Nope  # noqa: B018
    with pytest.raises(ImportError):
        from spell.runtimes.egress import Nope  # noqa: F401


def test_the_default_resolver_and_dialler_are_the_systems() -> None:
    made = egress.EgressPolicy()
    assert made.resolver is rules.system_resolver is policy.system_resolver
    assert made.dial is policy.system_dial
    assert made.check("https://api.example.test/x", ("example.test",)).host == "api.example.test"
    assert egress.EgressPolicy.loopback_allowed().networks == rules.LOOPBACK_NETWORKS
    assert egress.EgressPolicy.unsafe_private_allowed().networks == rules.PRIVATE_NETWORKS
