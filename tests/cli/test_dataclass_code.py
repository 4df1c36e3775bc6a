"""Dataclass methods kept compiled between starts of ``spell cast`` (``spell.cli.dataclass_code``)."""

from __future__ import annotations

import atexit
import dataclasses
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spell.cli.app import main
from spell.cli.dataclass_code import MAX_ENTRIES, CachedExec, install, load
from spell.config.home import SpellHome
from tests.local.harness import host_spell, use_home


def _define(hook: CachedExec | None) -> type:
    """A frozen dataclass, defined through ``hook`` when one is given."""
    saved = vars(dataclasses).get("exec")
    if hook is not None:
        dataclasses.exec = hook  # type: ignore[attr-defined]
    try:

        @dataclasses.dataclass(frozen=True)
        class Point:
            x: int
            label: str = "p"
            tags: tuple[str, ...] = dataclasses.field(default=())

        return Point
    finally:
        if saved is None:
            vars(dataclasses).pop("exec", None)
        else:
            dataclasses.exec = saved  # type: ignore[attr-defined]


def _behaviour(cls: type) -> tuple[object, ...]:
    point = cls(1, tags=("a",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 2
    return (
        repr(point),
        point == cls(1, tags=("a",)),
        point == cls(2),
        hash(point) == hash(cls(1, tags=("a",))),
        str(inspect.signature(cls)),
        # the generated __init__ is annotated with the field's type, not with a string naming it
        inspect.signature(vars(cls)["__init__"]).parameters["x"].annotation
        == dataclasses.fields(cls)[0].type,
    )


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "__pycache__"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    return folder


def test_a_kept_method_behaves_as_a_compiled_one(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    plain = _behaviour(_define(None))
    first = CachedExec({})
    assert _behaviour(_define(first)) == plain
    assert first.compiled > 0
    path = cache_dir / "code.marshal"
    first.save(path)

    again = CachedExec(load(path))
    assert again.kept.keys() == first.kept.keys()
    assert _behaviour(_define(again)) == plain
    assert again.compiled == 0  # every method came from the file


def test_the_file_is_not_written_when_nothing_was_compiled_or_bytecode_is_off(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = cache_dir / "code.marshal"
    CachedExec({}).save(path)
    assert not path.exists()
    hook = CachedExec({})
    _define(hook)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    hook.save(path)
    assert not path.exists()


def test_past_its_cap_the_file_keeps_only_what_the_writer_used(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    other = compile("x = 1", "<string>", "exec")
    hook = CachedExec({f"# another cast's method {n}\n": other for n in range(MAX_ENTRIES)})
    _define(hook)
    path = cache_dir / "code.marshal"
    hook.save(path)
    kept = load(path)
    assert kept.keys() == hook.used
    assert 0 < len(kept) < MAX_ENTRIES


def test_a_file_that_cannot_be_trusted_is_a_miss(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    hook = CachedExec({})
    _define(hook)
    path = cache_dir / "code.marshal"
    hook.save(path)
    assert load(path)
    data = path.read_bytes()

    path.write_bytes(data.replace(sys.version.encode(), b"3.0.0 (another build)", 1))
    assert load(path) == {}  # another interpreter's byte code
    header, _, body = data.partition(b"\n")
    path.write_bytes(header + b"\n" + body[: len(body) // 2])
    assert load(path) == {}  # cut short
    path.write_bytes(header + b"\n" + __import__("marshal").dumps({"x": "not code"}))
    assert load(path) == {}  # not a memo of code objects
    path.write_bytes(data)
    path.chmod(0o666)
    assert load(path) == {}  # anyone may write it
    path.chmod(0o644)
    cache_dir.chmod(0o777)
    assert load(path) == {}  # anyone may replace it
    cache_dir.chmod(0o755)
    link = cache_dir / "link.marshal"
    link.symlink_to(path)
    assert load(link) == {}
    assert load(cache_dir / "missing.marshal") == {}
    assert load(path)


def test_install_hooks_dataclasses_once_and_not_without_bytecode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = install(tmp_path)
    try:
        assert isinstance(hook, CachedExec)
        assert vars(dataclasses)["exec"] is hook
        assert install(tmp_path) is None  # one hook at a time
    finally:
        if hook is not None:
            atexit.unregister(hook.save)
        vars(dataclasses).pop("exec", None)
    assert "exec" not in vars(dataclasses)
    monkeypatch.setattr(sys, "pycache_prefix", str(tmp_path))
    assert install(tmp_path) is None


_PROBE = """
import atexit, dataclasses, json, sys
def report():
    hook = dataclasses.exec
    sys.stderr.write(json.dumps({"compiled": hook.compiled, "kept": len(hook.kept)}))
atexit.register(report)  # runs after the hook's own save: atexit is last in, first out
from spell.cli.app import main
main()
"""


def test_a_repeated_cast_compiles_no_dataclass_method(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home: SpellHome = use_home(tmp_path, monkeypatch)
    spell = host_spell(tmp_path, "kept", "#!/bin/sh\necho hi\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["SPELL_HOME"] = str(home.root)

    def cast() -> dict[str, int]:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, "cast", spell, "--json"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        assert json.loads(done.stdout)["outcome"] == "SUCCEEDED"
        report: dict[str, int] = json.loads(done.stderr)
        return report

    cast()  # writes the file unless an earlier run of this tree did
    second = cast()
    assert second["compiled"] == 0
    assert second["kept"] > 100


def test_a_cast_called_in_process_leaves_dataclasses_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_home(tmp_path, monkeypatch)
    with pytest.raises(SystemExit):
        main(["cast", "nobody/nothing", "--json"])
    assert "exec" not in vars(dataclasses)  # the hook is for a process of its own
