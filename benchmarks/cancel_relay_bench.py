"""How fast a cancel reaches another process: the Unix-socket relay (one host) against PostgreSQL NOTIFY.

A child process echoes every cancel it hears back through the same path; the figure is half the round
trip, from ``send`` in one process to the ``deliver`` callback in the other.

    PYTHONPATH=src python benchmarks/cancel_relay_bench.py [--database URL] [--runs 500]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import Engine

from spell.platform.cast.relay import CancelRelay
from spell.storage import notify
from spell.storage.engine import make_engine

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class _Echo:
    """The child: hears ``ping-N`` and answers ``pong-N`` the same way."""

    def __init__(self) -> None:
        self.answer: CancelRelay | None = None

    def __call__(self, cast_id: str) -> bool:
        if cast_id.startswith("ping-") and self.answer is not None:
            self.answer.send("pong-" + cast_id[5:])
        return True


def child(kind: str, where: str) -> None:
    """Echo until stdin closes."""
    echo = _Echo()
    if kind == "unix":
        echo.answer = CancelRelay(Path(where), echo)
    else:
        engine = make_engine(where)
        echo.answer = CancelRelay(None, lambda _c: False, remote=lambda c: notify.send_cancel(engine, c))
        listener = notify.Listener(where, on_change=print, on_cancel=echo, on_gap=lambda: None).start()
        listener.listening.wait(10)
    print("ready", flush=True)
    sys.stdin.read()


class _Waiter:
    def __init__(self) -> None:
        self.heard: dict[str, threading.Event] = {}

    def expect(self, key: str) -> threading.Event:
        self.heard[key] = threading.Event()
        return self.heard[key]

    def __call__(self, cast_id: str) -> bool:
        event = self.heard.get(cast_id)
        if event is not None:
            event.set()
        return True


def measure(kind: str, where: str, runs: int) -> list[float]:
    """One-way latencies in milliseconds."""
    waiter = _Waiter()
    engine: Engine | None = None
    listener: notify.Listener | None = None
    if kind == "unix":
        relay = CancelRelay(Path(where), waiter)
    else:
        engine = make_engine(where)
        bound = engine
        relay = CancelRelay(None, lambda _c: False, remote=lambda c: notify.send_cancel(bound, c))
        listener = notify.Listener(where, on_change=lambda _n: None, on_cancel=waiter, on_gap=lambda: None)
        listener.start().listening.wait(10)
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", kind, where],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if proc.stdout is None or proc.stdout.readline().strip() != "ready":
            raise SystemExit(f"{kind}: the echoing process did not start")
        samples = []
        for n in range(runs + 20):
            done = waiter.expect(f"pong-{n}")
            start = time.perf_counter()
            relay.send(f"ping-{n}")
            if not done.wait(5):
                raise SystemExit(f"{kind}: no answer to ping-{n}")
            if n >= 20:  # warm-up
                samples.append((time.perf_counter() - start) * 1000 / 2)
        return samples
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=10)
        relay.close()
        if listener is not None:
            listener.close()
        if engine is not None:
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=DEFAULT_URL)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--child", nargs=2, metavar=("KIND", "WHERE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as run_dir:
        for kind, where in (("unix", run_dir), ("notify", args.database)):
            ms = sorted(measure(kind, where, args.runs))
            p99 = ms[int(len(ms) * 0.99) - 1]
            print(f"{kind:7} median {statistics.median(ms):.3f} ms  p99 {p99:.3f} ms  ({len(ms)} cancels)")


if __name__ == "__main__":
    main()
