"""``spell serve``: run the platform (REST API + worker pool) on the embedded default or PostgreSQL."""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path
from typing import Any

import click

__all__ = ["command"]


@click.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8787, show_default=True, type=int, help="TCP port.")
@click.option(
    "--workers", type=int, default=None, help="Cast worker threads (default: SPELL_SERVER_WORKERS or 2)."
)
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=None,
    help="Server processes sharing the port, to use more cores (default: SPELL_SERVER_PROCESSES or 1).",
)
@click.option(
    "--no-workers",
    is_flag=True,
    help="API only: queued casts go to the shared queue, run by `spell worker`s (needs SPELL_QUEUE_URL).",
)
@click.option("--demo", is_flag=True, help="Seed a demo user, key and the example spells; print a curl cast.")
@click.option(
    "--examples",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("examples/spells"),
    show_default=True,
    help="Example spells published by --demo.",
)
@click.option(
    "--demo-key",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("examples/keys/samples__demo.public.b64url.txt"),
    show_default=True,
    help="Public key (base64url SPKI) that signed the examples; registered for publisher 'samples'.",
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default=None,
    help="Log level; info shows one access line per request (default: SPELL_SERVER_LOG_LEVEL or info).",
)
def command(
    host: str,
    port: int,
    workers: int | None,
    processes: int | None,
    no_workers: bool,
    demo: bool,
    examples: Path,
    demo_key: Path,
    log_level: str | None,
) -> None:
    """Run the Spell server: REST /v1, OpenAPI at /openapi.json, casts on an in-process worker pool.

    The embedded default needs nothing installed: SQLite at $SPELL_HOME/platform.db (migrated at
    start), artifacts under $SPELL_HOME/server. Set SPELL_DATABASE_URL=postgresql+psycopg://… for
    PostgreSQL (run `spell db upgrade` first).

    \b
    Examples:
      spell serve --demo                      # seeds a demo key and the examples, prints a curl cast
      spell serve --host 0.0.0.0 --port 9000
      spell serve --processes 2               # one process per core
      SPELL_QUEUE_URL=nats://127.0.0.1:4222 spell serve --no-workers   # casts run on `spell worker`s
      SPELL_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/spell spell serve
    """
    import os

    import uvicorn

    from spell.api import create_app
    from spell.api.serving import configure_logs, serving_platform, tune_interpreter
    from spell.platform.server import require_shared_queue
    from spell.storage.migrate import require_current, upgrade

    listening = f"http://{host}:{port}"
    settings = _settings(listening, workers, processes, no_workers=no_workers, log_level=log_level)
    configure_logs(settings)
    if not settings.run_workers:
        require_shared_queue(settings, "an API-only server (`--no-workers`)")
    if settings.is_sqlite:
        upgrade(settings.database_url)
    else:  # a shared database is migrated on purpose, by `spell db upgrade`
        require_current(settings.database_url)
    several = settings.processes > 1
    platform = serving_platform(settings, serving=not several)
    if settings.queue_url and not several:
        # `spell worker` processes of this data dir may run its casts: cancels must reach them
        platform.share_with_siblings(relay_cancels=True)
    if demo:
        platform.start()
        _demo(platform, examples, demo_key, settings.public_url)
    if settings.buttons_file is not None:
        _load_buttons(platform, settings.buttons_file)
    pool = f"workers: {settings.workers} each" if settings.run_workers else "no workers: API only"
    where = (
        f"spell: serving on {listening}"
        + (f" as {settings.public_url}" if settings.public_url != listening else "")
        + f" (database: {platform.db.engine.dialect.name}, "
        f"processes: {settings.processes}, {pool}); Ctrl-C stops"
    )
    if not several:
        tune_interpreter()
        app = create_app(settings, platform=platform)
        click.echo(where, err=True)
        # log_config=None: uvicorn's own lines go through the handler configure_logs installed
        uvicorn.run(
            app, host=host, port=port, log_level=settings.log_level, access_log=False, log_config=None
        )
        return
    # Several processes: this one sets up (migrations, secret key, demo, recovery of a previous run's
    # casts) and then only supervises; each process builds its own platform from the environment.
    if not settings.queue_url:
        platform.recover()
    platform.stop()
    os.environ.update(
        {
            "SPELL_SERVER_WORKERS": str(settings.workers),
            "SPELL_SERVER_RUN_WORKERS": "true" if settings.run_workers else "false",
            "SPELL_SERVER_PROCESSES": str(settings.processes),
            "SPELL_SERVER_PUBLIC_URL": settings.public_url,
            "SPELL_SERVER_LOG_LEVEL": settings.log_level,
        }
    )
    # The processes count into files of one folder, so any of them answers /metrics for all.
    from spell.platform.metrics import prepare_multiprocess_dir

    prepare_multiprocess_dir(settings.run_dir / "metrics")
    click.echo(where, err=True)
    uvicorn.run(
        "spell.api.serving:app_from_env",
        factory=True,
        workers=settings.processes,
        host=host,
        port=port,
        log_level=settings.log_level,
        access_log=False,
        log_config=None,
    )


def _settings(
    listening: str, workers: int | None, processes: int | None, *, no_workers: bool, log_level: str | None
) -> Any:
    """The server settings from the environment with the command's options over them."""
    import dataclasses

    from spell.config.group import layered
    from spell.config.server import ServerSettings

    settings = ServerSettings.from_env()
    overrides: dict[str, Any] = {}
    # Behind a proxy the operator names the URL clients use; otherwise it is where this server listens.
    if not layered().get("SPELL_SERVER_PUBLIC_URL", "").strip():
        overrides["public_url"] = listening
    if workers is not None:
        overrides["workers"] = workers
    if processes is not None:
        overrides["processes"] = processes
    if no_workers:
        overrides["run_workers"] = False
    if log_level is not None:
        overrides["log_level"] = log_level
    return dataclasses.replace(settings, **overrides)


def _demo(platform: Any, examples: Path, demo_key: Path, base_url: str) -> None:
    from spell.errors import InvalidInput
    from spell.models import TERMINAL_STATUSES
    from spell.platform.cast.service import CastRequestBody
    from spell.platform.demo import seed_demo

    if not demo_key.is_file():
        raise InvalidInput(
            f"demo key {demo_key} not found", hint="run from the repository root or pass --demo-key"
        )
    seed = seed_demo(
        platform,
        examples,
        publisher="samples",
        key_id="demo",
        public_key=demo_key.read_text(encoding="utf-8").strip(),
    )
    click.echo(f"demo: published {', '.join(seed.published) or 'nothing'}", err=True)
    refused = sorted(name for name, reason in seed.skipped.items() if reason.startswith("POLICY_DENIED"))
    if refused:
        click.echo(
            f"demo: not published here: {', '.join(refused)} (host/docker runtimes are off on this "
            "server; SPELL_SERVER_ALLOW_HOST_RUNTIME=1 turns host steps on)",
            err=True,
        )
    for name, reason in seed.skipped.items():
        if name not in refused:
            click.echo(f"demo: skipped {name}: {reason}", err=True)
    spell_id = "samples/hello-wasm"
    payload = {"input": {"name": "world"}}
    sample = examples / "hello-wasm" / "demo-input.json"
    if sample.is_file():
        payload = {"input": json.loads(sample.read_text(encoding="utf-8"))}
    if not any(p.startswith(spell_id + "@") for p in seed.published):
        return
    with platform.db.unit_of_work() as uow:
        principal = _principal(platform, uow, seed)
    cast, _ = platform.casts.create(
        principal, CastRequestBody(spell_id=spell_id, input=payload["input"]), f"demo-{int(time.time())}"
    )
    deadline = time.monotonic() + 15
    while platform.casts.get_status(cast.id) not in TERMINAL_STATUSES:
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)  # a CLI printout, not a test: polling is fine here
    from spell.platform.cast.schemas import CastOut

    result = CastOut.from_row(platform.casts.get(principal, cast.id)).model_dump(mode="json")
    curl = (
        f"curl -s -X POST {base_url}/v1/spells/{spell_id}/cast "
        f"-H {shlex.quote('Authorization: Bearer ' + seed.token)} "
        f"-H 'Idempotency-Key: '$(date +%s%N) -H 'Prefer: wait=10' "
        f"-H 'Content-Type: application/json' -d {shlex.quote(json.dumps(payload))}"
    )
    click.echo(f"\nDemo API key (shown once): {seed.token}\n\nCast it:\n  {curl}\n")
    click.echo(f"Or in the console: {base_url}/sign-in (sign in with the key above)\n")
    click.echo("Result of that cast, run just now:")
    click.echo(json.dumps({"status": result["status"], "output": result["output"]}, indent=2))


def _load_buttons(platform: Any, path: Path) -> None:
    from spell.platform.button.service import read_buttons_file

    with platform.db.unit_of_work() as uow:
        report = platform.buttons.load(uow, read_buttons_file(path))
    for button, outcome in sorted(report.items()):
        click.echo(f"buttons: {button}: {outcome}", err=True)


def _principal(platform: Any, uow: Any, seed: Any) -> Any:
    from spell.platform.auth.schemas import Principal

    user = platform.auth.get_user(uow, seed.user_id)
    return Principal(
        user_id=user.id,
        tenant_id=user.tenant_id,
        roles=tuple(user.roles),
        scopes=("cast:invoke", "spell:read"),
    )
