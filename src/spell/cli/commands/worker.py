"""``spell worker``: run queued casts from the shared queue, with no HTTP (a worker node)."""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import click

from spell.cli.output import exit_code_for, json_option, render_error

__all__ = ["command"]

_POLL_S = 0.5  # how often the waiting main thread looks at the broker connection


@click.command(name="worker")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Cast worker threads (default: SPELL_SERVER_WORKERS or 2).",
)
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="On SIGTERM or Ctrl-C, seconds running casts get to finish before their jobs are handed back.",
)
@json_option
def command(workers: int | None, grace: float, as_json: bool) -> None:
    """Run queued casts from NATS JetStream against the shared database, with no HTTP.

    Scale-out takes API nodes (`spell serve --no-workers`) and workers, all with the same
    SPELL_QUEUE_URL, SPELL_DATABASE_URL, SPELL_SERVER_SECRET_KEY and bundles (SPELL_SERVER_DATA_DIR);
    run `spell db upgrade` first on PostgreSQL.

    A running cast tells the broker it is in progress every third of
    SPELL_SERVER_QUEUE_ACK_WAIT_SECONDS; when a worker dies, its jobs go to another worker within
    that time, which ends their casts aborted (free of charge): a cast never runs twice. Workers do
    no start-up recovery, which would end the casts other nodes are running; each sweeps casts left
    running past their time limit.

    SIGTERM or Ctrl-C: stop taking jobs, let running casts finish for --grace seconds, hand back the
    rest; a second signal stops at once.

    \b
    Examples:
      SPELL_QUEUE_URL=nats://127.0.0.1:4222 spell worker --workers 4
      spell worker --json        # one JSON line once ready
    """
    import dataclasses

    from spell.config.billing import BillingSettings
    from spell.config.github import GitHubSettings
    from spell.config.server import ServerSettings
    from spell.config.supply import SupplySettings
    from spell.errors import Overloaded
    from spell.platform import logs, tracing
    from spell.platform.server import Platform, require_shared_queue
    from spell.queue.nats import NatsQueue
    from spell.storage.migrate import require_current, upgrade

    settings = ServerSettings.from_env()
    if workers is not None:
        settings = dataclasses.replace(settings, workers=workers)
    settings = dataclasses.replace(settings, run_workers=True)
    require_shared_queue(settings, "`spell worker`")
    # The casts it runs continue the traces of the requests that queued them (Job.trace).
    provider = tracing.provider_for(settings.trace_exporter, service="spell-worker")
    if provider is not None:
        tracing.install(provider)
    if settings.is_sqlite:  # one machine: the worker may well start before the server
        upgrade(settings.database_url)
    else:
        require_current(settings.database_url)
    platform = Platform.build(
        settings,
        billing=BillingSettings.from_env(),
        supply=SupplySettings.from_env(),
        github=GitHubSettings.from_env(),
    )
    queue = platform.queue
    if isinstance(queue, NatsQueue):
        queue.stop_grace_s = grace
    # Cancels sent by the API processes of this data dir reach the casts running here.
    platform.share_with_siblings(relay_cancels=True)
    stopping = threading.Event()
    _on_signals(stopping)
    # No recovery at start: on a shared queue other nodes' casts are alive (the broker redelivers
    # dead workers' jobs and the sweep ends what no runner will finish).
    platform.start(recover=False)
    # From here on the worker reports through its log lines; until it runs, failures are the command's
    # own error (one JSON envelope with --json, not mixed with log lines).
    logs.configure(settings.log_level, settings.log_format)
    _ready(settings, platform, as_json=as_json)
    lost = _until(stopping, queue.disconnected if isinstance(queue, NatsQueue) else threading.Event())
    click.echo("spell: worker stopping; running casts finish first", err=True)
    platform.stop()
    error = None
    if lost:
        error = Overloaded(
            f"lost the connection to the broker at {_shown(settings.queue_url or '')}",
            retry_after=5,
            hint="the worker exits so that its supervisor starts it again",
        )
    unfinished = queue.unfinished if isinstance(queue, NatsQueue) else 0
    if not unfinished:
        if error is not None:
            raise error
        click.echo("spell: worker stopped", err=True)
        return
    click.echo(f"spell: worker stopped; {unfinished} running cast(s) handed back", err=True)
    # Their threads still run: exit without waiting for them (the interpreter would, at exit).
    if error is not None:
        render_error(error, as_json=as_json)
    _exit_now(0 if error is None else exit_code_for(error))


def _until(stopping: threading.Event, disconnected: threading.Event) -> bool:
    """Wait for a stop signal (False) or the loss of the broker (True)."""
    while not stopping.wait(_POLL_S):
        if disconnected.is_set():
            return True
    return False


def _on_signals(stopping: threading.Event) -> None:
    def handle(signum: int, _frame: FrameType | None) -> None:
        if stopping.is_set():
            click.echo("spell: worker stopping at once", err=True)
            _exit_now(128 + signum)  # the broker redelivers its running jobs after the ack wait
        stopping.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handle)


def _exit_now(code: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _ready(settings: Any, platform: Any, *, as_json: bool) -> None:
    """Say the worker takes jobs now: a line on stderr, or one JSON line on stdout for supervisors."""
    import json

    facts = {
        "ok": True,
        "ready": True,
        "pid": os.getpid(),
        "workers": settings.workers,
        "database": platform.db.engine.dialect.name,
        "queue": _shown(settings.queue_url or ""),
    }
    if as_json:
        click.echo(json.dumps(facts, sort_keys=True))
        sys.stdout.flush()
        return
    click.echo(
        f"spell: worker ready (pid {facts['pid']}, database: {facts['database']}, queue: {facts['queue']}, "
        f"workers: {settings.workers}); SIGTERM or Ctrl-C stops",
        err=True,
    )


def _shown(url: str) -> str:
    """The broker URL without its credentials."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return parts._replace(netloc=netloc).geturl()
