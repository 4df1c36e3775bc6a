"""Order steps into waves: every step of a wave depends only on steps of earlier waves.

The manifest model already refuses unknown, self, duplicate and cyclic dependencies at load time;
``waves`` re-checks so that a hand-built step list cannot deadlock the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from spell.bundle.manifest import Step
from spell.errors import InvalidManifest

__all__ = ["run_wave", "waves"]

T = TypeVar("T")


def waves(steps: Sequence[Step]) -> list[list[Step]]:
    """Group steps into dependency levels, keeping manifest order inside each level."""
    names = [step.name for step in steps]
    if len(set(names)) != len(names):
        raise InvalidManifest("step names must be unique", details={"steps": names})
    done: set[str] = set()
    pending = list(steps)
    levels: list[list[Step]] = []
    while pending:
        ready = [s for s in pending if all(dep in done for dep in s.depends_on)]
        if not ready:
            stuck = ", ".join(s.name for s in pending)
            raise InvalidManifest(f"steps cannot be ordered (unknown dependency or cycle): {stuck}")
        levels.append(ready)
        done.update(s.name for s in ready)
        pending = [s for s in pending if s.name not in done]
    return levels


def run_wave(items: Iterable[Step], work: Callable[[Step], T], *, max_parallel: int) -> list[T]:
    """Run ``work`` on each step, at most ``max_parallel`` at a time; results in input order."""
    batch = list(items)
    if max_parallel <= 1 or len(batch) <= 1:
        return [work(step) for step in batch]
    from concurrent.futures import ThreadPoolExecutor  # only parallel waves pay for it (and logging)

    with ThreadPoolExecutor(max_workers=min(max_parallel, len(batch)), thread_name_prefix="step") as pool:
        return list(pool.map(work, batch))
