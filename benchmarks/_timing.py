"""Timing helpers shared by the command-line benchmarks, so every table measures the same way."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

__all__ = ["median_and_fastest_ms", "median_ms", "user_env"]


def median_and_fastest_ms(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median and fastest of ``runs`` timings (the fastest is the least disturbed by other load)."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), min(samples)


def median_ms(fn: Callable[[], object], runs: int) -> float:
    """Median of ``runs`` timings in milliseconds."""
    return median_and_fastest_ms(fn, runs)[0]


def user_env(**extra: str) -> dict[str, str]:
    """The environment with byte-code caches on, as on a user's machine, plus ``extra``.

    Some sandboxes set PYTHONDONTWRITEBYTECODE, which makes every process recompile its imports.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra)
    return env
