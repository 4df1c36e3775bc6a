"""What PostgreSQL's backends wait on while a command (a benchmark) runs against it.

Runs the command given after ``--`` with ``PGAPPNAME`` set to a name of its own (libpq sends it as
``application_name``, and the servers a benchmark starts inherit it), and samples
``pg_stat_activity`` every ``--interval`` seconds meanwhile: each backend of that name inside a
transaction or a statement counts once per sample, as ``CPU`` (no wait event: running, or waiting on
nothing PostgreSQL knows of), ``ClientRead`` (idle in its transaction, waiting for the next statement
of the client) or its wait event; a lock wait names the statement waiting (verb and table), which tells
whose rows are contended. Prints per database (a benchmark makes one per tree it measures,
in the order they first appear) the share of those busy samples per wait.

    .venv/bin/python benchmarks/pg_waits.py [--interval 0.01] -- .venv/bin/python benchmarks/api_bench.py \\
        --database postgresql --processes 1 --concurrency 8
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
import uuid
from collections import Counter

POSTGRES_ADMIN_URL = os.environ.get(
    "SPELL_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
_SAMPLE = """
SELECT datname, coalesce(wait_event_type || ':' || wait_event, 'CPU'), wait_event_type = 'Lock', query
FROM pg_stat_activity
WHERE application_name = %s AND state IN ('active', 'idle in transaction') AND pid <> pg_backend_pid()
"""


def _shape(query: str) -> str:
    """``UPDATE audit_head``: a statement's verb and first table."""
    text = " ".join(query.split()).upper()
    verb = text.split(" ", 1)[0] if text else "?"
    table = re.search(r"(?:FROM|INTO|UPDATE)\s+\"?([A-Z_]+)", text)
    return f"{verb} {table.group(1).lower() if table else ''}".strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=0.01)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- and the command to run")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    import psycopg

    name = f"pg_waits_{uuid.uuid4().hex[:8]}"
    child = subprocess.Popen(command, env={**os.environ, "PGAPPNAME": name})
    seen: dict[str, Counter[str]] = {}
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        while child.poll() is None:
            for datname, wait, locked, query in conn.execute(_SAMPLE, (name,)).fetchall():
                if locked:  # which statement waits tells which rows are contended
                    wait = f"{wait} in {_shape(query)}"
                seen.setdefault(datname, Counter())[wait] += 1
            time.sleep(args.interval)
    print(
        f"\npg_waits: busy backend samples every {args.interval * 1000:g} ms, by database (first seen first)"
    )
    for index, (datname, waits) in enumerate(seen.items()):
        total = sum(waits.values())
        print(f"\n| database {index} ({datname}) | samples | share |\n|---|---:|---:|")
        for wait, count in waits.most_common(12):
            print(f"| {wait} | {count} | {100 * count / total:.0f} % |")
    sys.exit(child.returncode)


if __name__ == "__main__":
    main()
