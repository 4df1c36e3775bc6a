"""Shared edge code of ``spell cast``: settings from the environment, printing the result.

Nothing here imports click: a plain local cast runs this module straight from the entry point
(``spell.cli.fastcast``), and its output is written as ``click.echo`` writes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

from spell.config.docker import DockerOptions
from spell.config.group import layered
from spell.config.home import SpellHome
from spell.config.logs import LogSettings
from spell.config.runtime import RuntimeSettings
from spell.config.wasm import WasmSettings
from spell.kit.time import utcnow
from spell.local import CastOptions, LocalCast, LocalContext, Retention, RuntimeChoice, cast_local
from spell.local.summary import render_summary
from spell.runtimes.base import ProgressSink, Runtime
from spell.runtimes.host.engine import EngineSettings

__all__ = ["build_context", "cast_here", "print_result", "run_cast"]

# click's pattern for the colour codes it strips from output that is not a terminal.
_ANSI = re.compile(r"\033\[[;?0-9]*[a-zA-Z]")


def build_context(environ: dict[str, str]) -> tuple[LocalContext, RuntimeChoice, Retention]:
    """Read SPELL_HOME, SPELL_RUNTIME_*, SPELL_WASM_*, SPELL_DOCKER_* and SPELL_API_LOG_* once, here."""
    settings_env = layered(environ)  # the settings file under the environment; templates see only the latter
    home = SpellHome.from_env(settings_env)
    settings = RuntimeSettings.from_env(settings_env)
    engine = EngineSettings.from_runtime_settings(settings)
    logs = LogSettings.from_env(settings_env)

    wasm_settings = WasmSettings.from_env(settings_env, cache_dir=home.cache)

    def wasm_factory() -> Runtime:
        from spell.runtimes.wasm import WasmRuntime  # wasmtime: loaded only for wasm spells

        return WasmRuntime(wasm_settings)

    choice = RuntimeChoice(
        engine=engine,
        docker=DockerOptions.from_mapping(settings_env),
        wasm_factory=wasm_factory,
        wasm_settings=wasm_settings,
    )
    retention = Retention(max_age_days=logs.retention_days, max_files=logs.max_files)
    ctx = LocalContext(home=home, environ=environ, input_max_bytes=settings.input_max_bytes, now=utcnow())
    return ctx, choice, retention


def run_cast(
    options: CastOptions,
    ctx: LocalContext,
    choice: RuntimeChoice,
    retention: Retention,
    *,
    progress: ProgressSink | None = None,
    stage: Callable[[str], None] | None = None,
) -> LocalCast:
    """Run the use case (kept here so tests and the command share one path).

    The first Ctrl-C cancels the cast — the runtime stops the running step or guest and the log
    records ``CANCELED`` — a second one interrupts at once.
    """
    cancel = threading.Event()
    with _ctrl_c_cancels(cancel):
        return cast_local(
            options, ctx, choice=choice, retention=retention, cancel=cancel, progress=progress, stage=stage
        )


@contextlib.contextmanager
def _ctrl_c_cancels(cancel: threading.Event) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        sys.stderr.write("spell: canceling the cast (Ctrl-C again to interrupt)\n")

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def print_result(result: LocalCast, *, verbose: bool = False) -> None:
    """Human output: each output (stdout outputs as they are), artifacts, the execution id.

    The execution summary comes first with ``verbose`` and in a dry run (where it is the result).
    A failed cast's captured stderr goes to stderr, so the reason is on screen without `spell log`.
    """
    if verbose or result.dry_run:
        _echo(render_summary(result.summary))
    if result.dry_run:
        _echo("dry run: nothing executed")
        _echo_ids(result)
        return
    for key, value in result.outputs.items():
        if key.endswith(".json") and f"{key.removesuffix('.json')}.stdout" in result.outputs:
            continue  # the same text is shown once, as stdout
        _echo(f"--- {key}")
        _echo(
            value if isinstance(value, str) else json.dumps(value, indent=2), nl=not str(value).endswith("\n")
        )
    for artifact in result.record.get("artifacts", []):
        _echo(f"artifact: {artifact['name']} ({artifact['size']} bytes, sha256 {artifact['sha256']})")
        _echo(f"  saved at {artifact['path']}")
    _echo_ids(result)
    stderr = result.record.get("stderr")
    if not result.outcome.is_success and isinstance(stderr, str) and stderr:
        _echo("--- stderr", err=True)
        _echo(stderr, err=True, nl=not stderr.endswith("\n"))


def _echo_ids(result: LocalCast) -> None:
    # spell-runtime's two closing lines, exactly: scripts read the id with `execution_id:\s*(.+)`
    _echo(f"execution_id: {result.execution_id}")
    _echo(f"log: {result.log_path}")


def cast_here(
    *,
    spell_id: str,
    version: str | None,
    params: tuple[str, ...],
    dry_run: bool,
    yes: bool,
    allow_billing: bool,
    allow_unsigned: bool,
    require_signature: bool,
    verbose: bool,
    as_json: bool,
    input_file: Path | None = None,
) -> None:
    """The body of ``spell cast`` for a local cast: run it, print the result, raise a failed outcome."""

    def stage(name: str) -> None:
        if verbose:
            sys.stderr.write(f"spell: check {name}\n" if name != "run" else "spell: running\n")

    def progress(event: str, step: str, detail: str) -> None:
        if verbose:
            sys.stderr.write(f"spell: step {step}: {event}{f' ({detail})' if detail else ''}\n")
            sys.stderr.flush()

    ctx, choice, retention = build_context(dict(os.environ))
    document: Path | bytes | None = input_file
    if input_file is not None and str(input_file) == "-":
        # One byte past the cap is enough for the size check to refuse it, without reading it all.
        document = sys.stdin.buffer.read(ctx.input_max_bytes + 1)
    options = CastOptions(
        spell_id=spell_id,
        version=version,
        params=params,
        input_file=document,
        dry_run=dry_run,
        yes=yes,
        allow_billing=allow_billing,
        allow_unsigned=allow_unsigned,
        require_signature=require_signature,
    )
    result = run_cast(options, ctx, choice, retention, progress=progress, stage=stage)
    if as_json:  # as ``spell.cli.output.emit`` prints data
        _echo(json.dumps(result.to_dict(), indent=2, sort_keys=True, default=str))
    else:
        print_result(result, verbose=verbose)
    result.raise_for_outcome()


def _echo(message: str, *, err: bool = False, nl: bool = True) -> None:
    """``click.echo`` of a text: through click when it is loaded (its test runner patches it),
    else the same bytes: colour codes stripped off a stream that is not a terminal, then a flush."""
    if "click" in sys.modules:
        import click

        click.echo(message, err=err, nl=nl)
        return
    stream = sys.stderr if err else sys.stdout
    out = f"{message}\n" if nl else message
    try:
        terminal = stream.isatty()
    except Exception:
        terminal = False
    if not terminal:
        out = _ANSI.sub("", out)
    stream.write(out)
    stream.flush()
