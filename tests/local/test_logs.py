from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest

from spell.errors import InvalidInput, LogNotFound
from spell.kit.ids import new_id
from spell.kit.time import utcnow
from spell.local.logs import ExecutionLogs


def _write(logs: ExecutionLogs, n: int) -> list[str]:
    ids = []
    start = int(time.time() * 1000)
    for i in range(n):
        execution_id = new_id("exec", now_ms=start + i)  # one per millisecond: creation order is id order
        logs.write({"execution_id": execution_id, "n": i})
        ids.append(execution_id)
    return ids


def test_write_is_atomic_private_and_readable(tmp_path: Path) -> None:
    logs = ExecutionLogs(tmp_path / "logs")
    (execution_id,) = _write(logs, 1)
    path = logs.path_for(execution_id)
    assert path.stat().st_mode & 0o777 == 0o600
    assert logs.read(execution_id) == {"execution_id": execution_id, "n": 0}
    assert [p.name for p in (tmp_path / "logs").iterdir()] == [path.name]  # no temp files left


def test_ids_do_not_collide_within_one_millisecond() -> None:
    assert len({ExecutionLogs.new_id() for _ in range(10_000)}) == 10_000


def test_unknown_log_is_log_not_found_and_bad_ids_are_refused(tmp_path: Path) -> None:
    logs = ExecutionLogs(tmp_path)
    with pytest.raises(LogNotFound) as info:
        logs.read("exec_01M84PD7WDJZ3ZCXN5KJA6W5YD")
    assert info.value.code == "LOG_NOT_FOUND"
    with pytest.raises(InvalidInput):
        logs.read("../../etc/passwd")


def test_prune_keeps_the_newest_max_files(tmp_path: Path) -> None:
    logs = ExecutionLogs(tmp_path)
    ids = _write(logs, 5)
    removed = logs.prune(max_age_days=14, max_files=2, now=utcnow())
    assert removed == ids[:3]
    assert sorted(p.stem for p in tmp_path.iterdir()) == ids[3:]


def test_prune_removes_logs_older_than_max_age(tmp_path: Path) -> None:
    logs = ExecutionLogs(tmp_path)
    old, new = _write(logs, 2)
    stamp = (utcnow() - timedelta(days=15)).timestamp()
    os.utime(logs.path_for(old), (stamp, stamp))
    assert logs.prune(max_age_days=14, max_files=500, now=utcnow()) == [old]
    assert logs.read(new)["n"] == 1
