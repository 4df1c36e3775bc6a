from __future__ import annotations

import json

from spell.kit.json_depth import may_nest_beyond, nests_beyond


def _nested(depth: int) -> object:
    value: object = 0
    for _ in range(depth):
        value = [value]
    return value


def test_depth_counts_containers_not_scalars() -> None:
    assert not nests_beyond(0, 0)
    assert nests_beyond([], 0)
    assert not nests_beyond([], 1)
    assert not nests_beyond({"a": [1, {"b": 2}]}, 3)
    assert nests_beyond({"a": [1, {"b": {}}]}, 3)


def test_a_value_far_deeper_than_the_stack_is_measured_without_recursion() -> None:
    assert nests_beyond(_nested(100_000), 128)
    assert not nests_beyond(_nested(128), 128)
    assert nests_beyond(_nested(129), 128)


def test_wide_values_are_not_deep() -> None:
    wide = [[{"k": [i]}] for i in range(10_000)]
    assert not nests_beyond(wide, 4)
    assert nests_beyond(wide, 3)


def test_few_brackets_settle_the_depth_without_parsing() -> None:
    assert not may_nest_beyond(json.dumps(_nested(128)).encode(), 128)
    assert may_nest_beyond(json.dumps(_nested(129)).encode(), 128)
    # brackets inside strings only make the answer cautious; the exact check decides
    assert may_nest_beyond(b'["' + b"[" * 200 + b'"]', 128)
    assert not nests_beyond(json.loads(b'["' + b"[" * 200 + b'"]'), 128)
