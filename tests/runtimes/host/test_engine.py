from __future__ import annotations

from pathlib import Path
from typing import Any

from spell.runtimes.host import EngineSettings
from tests.runtimes.host.bundles import cast, make_bundle


def _sh(name: str, **extra: Any) -> dict[str, Any]:
    return {"uses": "shell", "name": name, "run": f"steps/{name}.sh", **extra}


def _echo(text: str) -> str:
    return f"#!/bin/sh\necho {text}\n"


def test_when_input_path_equals_and_not_equals(tmp_path: Path) -> None:
    steps = [
        _sh("full", when={"input_path": "mode", "equals": "full"}),
        _sh("notquick", when={"input_path": "mode", "not_equals": "quick"}),
    ]
    bundle = make_bundle(
        tmp_path / "b", steps, {"steps/full.sh": _echo("full"), "steps/notquick.sh": _echo("nq")}
    )
    quick = cast(bundle, {"mode": "quick"})
    assert quick.outcome == "SUCCEEDED"
    assert quick.output == {}
    assert [s["skipped"] for s in quick.details["steps"]] == [True, True]
    full = cast(bundle, {"mode": "full"})
    assert set(full.output) == {"step.full.stdout", "step.notquick.stdout"}


def test_when_output_path_reads_an_earlier_step(tmp_path: Path) -> None:
    steps = [
        _sh("probe"),
        _sh("act", depends_on=["probe"], when={"output_path": "step.probe.json.ready", "equals": True}),
        _sh("never", depends_on=["probe"], when={"output_path": "step.missing.stdout", "equals": "x"}),
    ]
    files = {
        "steps/probe.sh": "#!/bin/sh\necho '{\"ready\": true}'\n",
        "steps/act.sh": _echo("acted"),
        "steps/never.sh": _echo("never"),
    }
    result = cast(make_bundle(tmp_path / "b", steps, files))
    assert result.output["step.act.stdout"] == "acted\n"
    assert "step.never.stdout" not in result.output


def test_retry_runs_again_until_success_within_max_attempts(tmp_path: Path) -> None:
    # counts its attempts in the (per-cast) workspace and succeeds on the third
    script = "#!/bin/sh\nn=$(cat count 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > count\n[ $n -ge 3 ]\n"
    bundle = make_bundle(
        tmp_path / "b", [_sh("flaky", retry={"max_attempts": 3, "backoff_ms": 1})], {"steps/flaky.sh": script}
    )
    result = cast(bundle)
    assert result.outcome == "SUCCEEDED"
    assert result.details["steps"][0]["attempts"] == 3
    fewer = make_bundle(
        tmp_path / "c", [_sh("flaky", retry={"max_attempts": 2, "backoff_ms": 1})], {"steps/flaky.sh": script}
    )
    failed = cast(fewer)
    assert failed.outcome == "FAILED"
    assert failed.details["steps"][0]["attempts"] == 2


def test_timeouts_are_not_retried(tmp_path: Path) -> None:
    bundle = make_bundle(
        tmp_path / "b",
        [_sh("slow", retry={"max_attempts": 5, "backoff_ms": 0})],
        {"steps/slow.sh": "#!/bin/sh\nsleep 30\n"},
    )
    result = cast(bundle, settings=EngineSettings(step_timeout_ms=200))
    assert result.outcome == "TIMEOUT"
    assert result.details["steps"][0]["attempts"] == 1


def test_rollback_handlers_run_in_reverse_order_and_state_is_recorded(tmp_path: Path) -> None:
    steps = [
        _sh("one", rollback="steps/undo-one.sh"),
        _sh("two", depends_on=["one"], rollback="steps/undo-two.sh"),
        _sh("three", depends_on=["two"]),
    ]
    files = {
        "steps/one.sh": "#!/bin/sh\necho one >> trail\n",
        "steps/two.sh": "#!/bin/sh\necho two >> trail\n",
        "steps/three.sh": "#!/bin/sh\nexit 1\n",
        "steps/undo-two.sh": "#!/bin/sh\necho undo-two >> trail\n",
        "steps/undo-one.sh": "#!/bin/sh\necho undo-one >> trail\ncat trail\n",
    }
    result = cast(make_bundle(tmp_path / "b", steps, files))
    assert result.outcome == "FAILED"
    names = [s["name"] for s in result.details["steps"]]
    assert names == ["one", "two", "three", "rollback.two", "rollback.one"]
    assert result.details["steps"][-1]["stdout_head"] == "one\ntwo\nundo-two\nundo-one\n"
    rollback = result.details["rollback"]
    assert (rollback["state"], rollback["planned"], rollback["succeeded"]) == ("fully_compensated", 2, 2)


def test_partial_compensation_when_a_handler_is_missing_or_fails(tmp_path: Path) -> None:
    steps = [
        _sh("one"),
        _sh("two", depends_on=["one"], rollback="steps/undo.sh"),
        _sh("bad", depends_on=["two"]),
    ]
    files = {"steps/one.sh": _echo("1"), "steps/two.sh": _echo("2"), "steps/bad.sh": "#!/bin/sh\nexit 9\n"}
    ok_undo = cast(make_bundle(tmp_path / "a", steps, {**files, "steps/undo.sh": _echo("u")}))
    assert ok_undo.details["rollback"]["state"] == "partially_compensated"
    assert ok_undo.details["rollback"]["without_handler"] == 1
    bad_undo = cast(make_bundle(tmp_path / "b", steps, {**files, "steps/undo.sh": "#!/bin/sh\nexit 1\n"}))
    assert bad_undo.details["rollback"]["state"] == "not_compensated"
    assert bad_undo.details["rollback"]["failed_step_names"] == ["rollback.two"]


def test_success_needs_no_rollback(tmp_path: Path) -> None:
    result = cast(make_bundle(tmp_path / "b", [_sh("a", rollback="steps/a.sh")], {"steps/a.sh": _echo("a")}))
    assert result.details["rollback"]["state"] == "not_needed"


def test_checks_file_exists_and_jsonpath_equals(tmp_path: Path) -> None:
    checks = [
        {"type": "exit_code", "params": {}},
        {"type": "file_exists", "params": {"path": "made.txt"}},
        {"type": "jsonpath_equals", "params": {"from_output": "step.a.json", "path": "n", "expected": 2}},
    ]
    script = "#!/bin/sh\ntouch made.txt\necho '{\"n\": 2}'\n"
    result = cast(make_bundle(tmp_path / "b", [_sh("a")], {"steps/a.sh": script}, checks=checks))
    assert result.outcome == "SUCCEEDED"
    assert all(c["success"] for c in result.details["checks"])


def test_failed_check_fails_the_cast_and_names_the_check(tmp_path: Path) -> None:
    checks = [
        {"type": "file_exists", "params": {"path": "absent.txt"}},
        {"type": "jsonpath_equals", "params": {"from_output": "step.a.json", "path": "n", "expected": "2"}},
        {"type": "file_exists", "params": {"path": "../../etc/passwd"}},
        {"type": "http_status", "params": {}},
    ]
    result = cast(
        make_bundle(
            tmp_path / "b", [_sh("a")], {"steps/a.sh": "#!/bin/sh\necho '{\"n\": 2}'\n"}, checks=checks
        )
    )
    assert result.outcome == "FAILED"
    assert "file missing" in result.message
    assert [c["success"] for c in result.details["checks"]] == [False, False, False, False]


def test_bundle_with_a_symlink_is_refused(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", [_sh("a")], {"steps/a.sh": _echo("a")})
    (bundle / "steps" / "link").symlink_to("/etc/passwd")
    result = cast(bundle)
    assert result.outcome == "FAILED"
    assert "symbolic link" in result.message


def test_a_step_printing_json_nested_too_deep_keeps_its_text_but_no_json(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    files = {"steps/deep.sh": f"#!/bin/sh\nprintf '%s' '{deep}'\n", "steps/fine.sh": _echo("'[[1]]'")}
    result = cast(make_bundle(tmp_path / "b", [_sh("deep"), _sh("fine")], files))
    assert result.outcome == "SUCCEEDED"
    assert result.output["step.deep.stdout"] == deep
    assert "step.deep.json" not in result.output
    assert result.output["step.fine.json"] == [[1]]
