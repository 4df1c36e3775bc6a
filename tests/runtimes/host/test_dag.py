from __future__ import annotations

from pathlib import Path

import pytest

from spell.bundle.manifest import Step
from spell.errors import InvalidManifest
from spell.runtimes.host import EngineSettings
from tests.runtimes.host.bundles import cast, make_bundle


def _step(name: str, *deps: str) -> Step:
    return Step(uses="shell", name=name, run=f"steps/{name}.sh", depends_on=deps)


def test_waves_follow_dependencies_and_keep_manifest_order() -> None:
    from spell.runtimes.host.dag import waves

    levels = waves([_step("c", "a", "b"), _step("b"), _step("a"), _step("d", "c")])
    assert [[s.name for s in level] for level in levels] == [["b", "a"], ["c"], ["d"]]


def test_waves_refuse_a_hand_built_cycle() -> None:
    from spell.runtimes.host.dag import waves

    with pytest.raises(InvalidManifest):
        waves([_step("a", "b"), _step("b", "a")])


# Each step writes its own marker and waits for the other's: only parallel execution finishes.
RENDEZVOUS = """#!/bin/sh
touch "$HOME/{me}.ready"
i=0
while [ ! -e "$HOME/{other}.ready" ]; do
  i=$((i+1)); [ $i -gt 150 ] && exit 3
  sleep 0.01
done
echo {me}
"""


def _rendezvous_bundle(root: Path, parallel: int) -> Path:
    return make_bundle(
        root,
        [
            {"uses": "shell", "name": "a", "run": "steps/a.sh"},
            {"uses": "shell", "name": "b", "run": "steps/b.sh"},
        ],
        {
            "steps/a.sh": RENDEZVOUS.format(me="a", other="b"),
            "steps/b.sh": RENDEZVOUS.format(me="b", other="a"),
        },
        runtime={"max_parallel_steps": parallel},
    )


def test_independent_steps_run_in_parallel_up_to_max_parallel_steps(tmp_path: Path) -> None:
    result = cast(_rendezvous_bundle(tmp_path / "p", 2))
    assert result.outcome == "SUCCEEDED", result.message
    assert result.output["step.a.stdout"] == "a\n"
    assert result.output["step.b.stdout"] == "b\n"


def test_max_parallel_steps_one_runs_steps_one_at_a_time(tmp_path: Path) -> None:
    result = cast(_rendezvous_bundle(tmp_path / "s", 1), settings=EngineSettings(step_timeout_ms=10_000))
    assert result.outcome == "FAILED"
    assert result.details["steps"][0]["exit_code"] == 3


def test_dependent_steps_see_each_others_files_in_order(tmp_path: Path) -> None:
    bundle = make_bundle(
        tmp_path / "b",
        [
            {"uses": "shell", "name": "second", "run": "steps/second.sh", "depends_on": ["first"]},
            {"uses": "shell", "name": "first", "run": "steps/first.sh"},
        ],
        {
            "steps/first.sh": "#!/bin/sh\necho one > order.txt\n",
            "steps/second.sh": "#!/bin/sh\ncat order.txt\n",
        },
    )
    result = cast(bundle)
    assert result.outcome == "SUCCEEDED"
    assert [s["name"] for s in result.details["steps"]] == ["first", "second"]
    assert result.output["step.second.stdout"] == "one\n"
