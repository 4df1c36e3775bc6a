"""Entry point of the ``spell`` command."""

from __future__ import annotations

import os
import sys
from typing import Any

# ``cli`` (the click group) is provided by ``__getattr__``, built on first use.
__all__ = ["main"]

_C = "spell.cli.commands"

COMMANDS: dict[str, tuple[str, str]] = {
    # maker
    "init": (f"{_C}.init:command", "Scaffold a new spell project from a template."),
    "pack": (f"{_C}.pack:command", "Pack a bundle folder into a canonical, reproducible tar."),
    "sign": (f"{_C}.sign:group", "Make signing keys and sign bundles."),
    "sbom": (f"{_C}.sbom:group", "Write and check a bundle's SBOM, with the supply-chain gate's verdict."),
    # caster
    "install": (
        f"{_C}.install:command",
        "Install a spell from a folder, archive, git, registry, OCI or a server.",
    ),
    "list": (f"{_C}.list:command", "List installed spells."),
    "builtins": (f"{_C}.builtins:command", "List the builtin functions a builtin spell may name."),
    "inspect": (
        f"{_C}.inspect:command",
        "Show an installed spell's manifest, digest and provenance.",
    ),
    "verify": (
        f"{_C}.verify:command",
        "Verify a spell's digest and signature against the trust store.",
    ),
    "cast": (
        f"{_C}.cast:command",
        "Run an installed spell locally, with every guard the platform applies (--remote: on a server).",
    ),
    "log": (f"{_C}.log:command", "Show the execution log of a local cast."),
    "get-output": (
        f"{_C}.get_output:command",
        "Print one output of a local cast (step.NAME.stdout|json).",
    ),
    "trust": (f"{_C}.trust:group", "Manage trusted publisher keys."),
    "policy": (f"{_C}.policy:group", "Show, validate and set the local policy file."),
    "license": (f"{_C}.license:group", "Manage entitlement tokens for billed spells."),
    "registry": (f"{_C}.registry:group", "Configure and query registry indexes."),
    # remote
    "login": (f"{_C}.login:command", "Log in to a Spell server and save the API key as a profile."),
    "logout": (f"{_C}.logout:command", "Forget a saved server profile."),
    "publish": (
        f"{_C}.publish:command",
        "Publish a signed bundle to the server (registers its key if needed).",
    ),
    "publisher": (f"{_C}.publisher:group", "Your publisher's Sigstore identities on the server."),
    "casts": (f"{_C}.casts:group", "List, show, cancel, retry casts on the server; their logs (-f)."),
    "artifacts": (f"{_C}.artifacts:group", "Download files casts produced on the server."),
    "budget": (f"{_C}.budget:group", "Show and set your spending caps on the server."),
    "usage": (f"{_C}.usage:command", "What your casts were charged on the server."),
    "purchase": (f"{_C}.purchase:command", "Buy a one_time spell on the server (clone spells: to install)."),
    "earnings": (f"{_C}.earnings:command", "Your earnings as a maker on the server."),
    "mcp": (f"{_C}.mcp:command", "Serve the MCP server over stdio, for AI agents (uses the profile)."),
    # operator (server)
    "serve": (f"{_C}.serve:command", "Run the Spell server (REST API + worker pool); --demo seeds examples."),
    "worker": (f"{_C}.worker:command", "Run queued casts from the shared queue (NATS), with no HTTP."),
    "db": (f"{_C}.db:group", "Migrate the platform database."),
    "admin": (f"{_C}.admin:group", "Create users, ban and unban (server side)."),
    "keys": (f"{_C}.keys:group", "Your API keys on the server; any user's on the server machine."),
    "ledger": (f"{_C}.ledger:group", "Your ledger postings on the server; verify it on the server machine."),
    "refunds": (f"{_C}.refunds:group", "Refund casts' charges and card top-ups (server side)."),
    "payouts": (f"{_C}.payouts:group", "Pay makers their earnings (server side)."),
    "audit": (f"{_C}.audit:group", "Verify the hash-chained audit log (server side)."),
    "violations": (
        f"{_C}.violations:group",
        "List policy violations and reinstate suspended spells and users (server side).",
    ),
    "privacy": (f"{_C}.privacy:group", "Export, erase and purge users' data on request (server side)."),
    "webhooks": (f"{_C}.webhooks:group", "Tenants' webhook endpoints and the delivery log (server side)."),
    "advisories": (
        f"{_C}.advisories:group",
        "Import OSV advisories and re-scan published spells (server side).",
    ),
    "retention": (
        f"{_C}.retention:group",
        "Prune cast data and fold the audit log after their periods; legal holds (server side).",
    ),
    "completion": (f"{_C}.completion:command", "Print the shell completion script (bash, zsh or fish)."),
}

# How `spell --help` groups the commands, by who runs them; a name this build lacks is skipped.
SECTIONS: dict[str, tuple[str, ...]] = {
    "Maker commands (build and sign spells)": ("init", "pack", "sbom", "sign"),
    "Caster commands (install and run spells here)": (
        "install",
        "list",
        "inspect",
        "verify",
        "cast",
        "log",
        "get-output",
        "trust",
        "policy",
        "license",
        "registry",
        "builtins",
    ),
    "Remote commands (a Spell server, through a profile)": (
        "login",
        "logout",
        "publish",
        "publisher",
        "casts",
        "artifacts",
        "budget",
        "purchase",
        "usage",
        "earnings",
        "mcp",
    ),
    "Operator commands (run the server)": (
        "serve",
        "worker",
        "db",
        "admin",
        "keys",
        "ledger",
        "refunds",
        "payouts",
        "audit",
        "violations",
        "privacy",
        "advisories",
        "retention",
        "webhooks",
    ),
}


def __getattr__(name: str) -> Any:
    # The click group is built on first use: a plain local cast is dispatched without click.
    if name == "cli":
        from spell.cli.group import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI, rendering ``SpellError`` once, here, as text or JSON.

    A plain local ``spell cast`` (see ``spell.cli.fastcast``) skips click; it runs the same code as
    the click command and is rendered by the same handler. When ``main`` is the program (no
    ``argv``: it reads the command line), a cast reuses compiled dataclass methods
    (``spell.cli.dataclass_code``) and ends without the interpreter's teardown (``_end_now``).
    """
    args = sys.argv[1:] if argv is None else argv
    try:
        _main(args, program=argv is None)
    except SystemExit as done:
        if argv is None and args[:1] == ["cast"]:
            _end_now(done.code)
        raise


def _main(args: list[str], *, program: bool) -> None:
    # The CLI uses no pydantic plugins; without this, building the first model scans the entry
    # points of every installed package for them (an operator can still set the variable to "").
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    request = None
    if args and args[0] == "cast":
        from pathlib import Path

        from spell.cli.dataclass_code import install
        from spell.cli.fastcast import plain_local_cast

        # A cast defines some forty dataclasses before it runs; their methods are compiled once
        # and kept beside the byte code (``spell.cli.dataclass_code``). Only in a process of its
        # own: the hook stays for the life of the process.
        if program:
            install(Path(__file__).parent.parent)
        request = plain_local_cast(args, os.environ)
    try:
        if request is None:
            _run_click(args)
        else:
            _run_plain_cast(request)
    except Exception as exc:  # the edge: every library error is rendered once, here
        from spell.errors import SpellError

        if not isinstance(exc, SpellError):
            raise
        from spell.cli.output import exit_code_for, render_error

        render_error(exc, as_json="--json" in args)
        sys.exit(exit_code_for(exc))
    sys.exit(0)


def _end_now(code: object) -> None:
    """Exit with ``code`` after doing what the interpreter does first when it exits, but not the rest.

    Tearing the interpreter down after a cast (clearing some two hundred modules, freeing every
    object one by one) took longer than the cast's own step. Before that teardown, Python waits for
    its threads, runs the ``atexit`` functions and flushes the standard streams; the cast has
    written and closed every file it opened, so nothing else needs the teardown. This does those
    things, in that order, and ends the process. It returns (the caller re-raises, and Python exits
    as usual) when that exit would differ: a code that is not a number (Python prints it), another
    thread still running, or a stream that cannot be flushed (Python reports it and exits with 120).
    """
    import atexit
    import threading

    if not (code is None or type(code) is int) or threading.active_count() > 1:
        return
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed or broken stream: the interpreter reports it
        return
    os._exit(code or 0)


def _run_click(args: list[str]) -> None:
    import click

    from spell.cli.group import cli

    try:
        cli.main(args=args, prog_name="spell", standalone_mode=False)
    except click.exceptions.Abort:
        sys.stderr.write("aborted\n")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


def _run_plain_cast(request: dict[str, Any]) -> None:
    """The cast command's body; Ctrl-C and a closed pipe end it as click's ``main`` would."""
    import errno

    try:
        from spell.cli.commands._local_cast import cast_here

        cast_here(**request)
    except (EOFError, KeyboardInterrupt):
        sys.stderr.write("\n")  # closes the terminal's ``^C`` echo
        sys.stderr.flush()
        sys.stderr.write("aborted\n")
        sys.exit(130)
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        from click.utils import _PacifyFlushWrapper

        sys.stdout = _PacifyFlushWrapper(sys.stdout)
        sys.stderr = _PacifyFlushWrapper(sys.stderr)
        sys.exit(1)
