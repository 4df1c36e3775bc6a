"""The platform's Prometheus metrics: what services count, and the exposition ``/metrics`` serves.

Services call the small functions below rather than touching ``prometheus_client``, so the metric
names, labels and buckets live in one place. Counts are taken after the commit that makes them true
(a rolled-back end or charge is never counted).

Several processes (``spell serve --processes N``) share one ``PROMETHEUS_MULTIPROC_DIR``
(``multiprocess_dir``), set before any of them imports ``prometheus_client``: each process writes
its samples to memory-mapped files there and any one of them sums all of them when scraped.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

__all__ = [
    "CONTENT_TYPE",
    "MULTIPROC_ENV",
    "cast_ended",
    "error",
    "exposition",
    "note_runtime",
    "prepare_multiprocess_dir",
    "rate_limited",
    "refunded",
    "revenue",
]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
UNKNOWN = "unknown"  # the runtime of a cast ended in a process that never saw its version

# From a quick WASM cast (a few ms) to a long host or docker run (minutes).
_SECONDS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

CASTS = Counter("spell_casts", "Casts that reached a terminal status", ("status", "runtime"))
CAST_SECONDS = Histogram(
    "spell_cast_duration_seconds", "From a cast's creation to its end", ("runtime",), buckets=_SECONDS
)
RUN_SECONDS = Histogram(
    "spell_cast_run_seconds",
    "From a cast's start (claimed running) to its end",
    ("runtime",),
    buckets=_SECONDS,
)
ERRORS = Counter("spell_errors", "Error answers by error code", ("code",))
REFUNDS = Counter("spell_refunds", "Refunds applied (a cast's charge, a card payment)", ("kind",))
REFUNDED_MICROS = Counter("spell_refunded_micros", "Money refunded, in micro-units", ("kind", "currency"))
REVENUE_MICROS = Counter("spell_revenue_micros", "Cast charges captured, in micro-units", ("currency",))
RATE_LIMITED = Counter("spell_rate_limited", "Casts refused by a rate limit", ("scope",))
# Served from a registry of their own: the default one also holds whatever else the process registered.
_OURS = (CASTS, CAST_SECONDS, RUN_SECONDS, ERRORS, REFUNDS, REFUNDED_MICROS, REVENUE_MICROS, RATE_LIMITED)

# spell digest → execution (wasm, host…): an ending knows its cast's digest, not its runtime. Bounded
# by the published versions this process ran or created casts of.
_runtimes: dict[str, str] = {}
_children: dict[tuple[str, str], tuple[Counter, Histogram, Histogram]] = {}


def note_runtime(digest: str, execution: str) -> None:
    """Remember which runtime the spell version ``digest`` runs on, for the labels of its casts."""
    if digest not in _runtimes:
        _runtimes[digest] = execution


def cast_ended(
    status: str, digest: str, created_at: datetime, started_at: datetime | None, finished_at: datetime
) -> None:
    """Count a cast that reached a terminal status, with its latency and its run time if it ran."""
    runtime = _runtimes.get(digest, UNKNOWN)
    children = _children.get((status, runtime))
    if children is None:  # ``labels`` validates and locks on every call: look each child up once
        children = CASTS.labels(status, runtime), CAST_SECONDS.labels(runtime), RUN_SECONDS.labels(runtime)
        _children[(status, runtime)] = children
    casts, latency, run = children
    casts.inc()
    latency.observe(max(0.0, (finished_at - created_at).total_seconds()))
    if started_at is not None:
        run.observe(max(0.0, (finished_at - started_at).total_seconds()))


def error(code: str) -> None:
    """Count an error answer."""
    ERRORS.labels(code).inc()


def refunded(kind: str, currency: str, micros: int) -> None:
    """Count a refund of ``micros`` (``kind``: ``cast`` or ``payment``)."""
    REFUNDS.labels(kind).inc()
    REFUNDED_MICROS.labels(kind, currency).inc(micros)


def revenue(currency: str, micros: int) -> None:
    """Count a captured cast charge."""
    REVENUE_MICROS.labels(currency).inc(micros)


def rate_limited(scope: str) -> None:
    """Count a cast refused by the ``credential`` or ``tenant`` rate limit."""
    RATE_LIMITED.labels(scope).inc()


class _QueueDepth(Collector):
    """Queued casts, read when scraped: a count over the indexed status column, not per process."""

    def __init__(self, queued: Callable[[], int]) -> None:
        self.queued = queued

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily("spell_queue_depth", "Casts queued and not yet claimed", value=self.queued())


def exposition(queued: Callable[[], int]) -> bytes:
    """The text exposition of every metric (all processes' in multiprocess mode) and the queue depth."""
    registry = CollectorRegistry(auto_describe=False)
    folder = os.environ.get(MULTIPROC_ENV)
    if folder:
        MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]  # untyped upstream
    else:
        for collector in _OURS:
            registry.register(collector)
    registry.register(_QueueDepth(queued))
    return generate_latest(registry)


def prepare_multiprocess_dir(folder: Path) -> None:
    """Empty ``folder`` for a new run of several processes and point them at it (before they start).

    Files of a previous run would be summed with this one's: the folder is emptied first.
    """
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o700)
    os.environ[MULTIPROC_ENV] = str(folder)
