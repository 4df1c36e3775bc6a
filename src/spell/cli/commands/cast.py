"""``spell cast ID``: run an installed spell locally, after every guard the platform applies."""

from __future__ import annotations

from pathlib import Path

import click

from spell.cli.output import json_option
from spell.cli.profiles import profile_option

__all__ = ["command"]


@click.command(name="cast")
@click.argument("spell_id")
@click.option("--version", "version", help="Installed version to cast (default: the highest).")
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="Input value at a dot path; parsed as JSON when it is JSON (repeatable).",
)
@click.option(
    "--input",
    "input_file",
    type=click.Path(dir_okay=False, exists=True, allow_dash=True, path_type=Path),
    help="A JSON file with the input object, or - for stdin; -p values are applied on top.",
)
@click.option("--dry-run", is_flag=True, help="Run every check and print the summary, but execute nothing.")
@click.option("--yes", is_flag=True, help="Confirm a high or critical risk spell.")
@click.option(
    "--allow-billing", is_flag=True, help="Accept that a billed spell costs money (needs a licence)."
)
@click.option(
    "--allow-unsigned",
    is_flag=True,
    help="Cast an unsigned or untrusted bundle (an invalid signature is always refused).",
)
@click.option(
    "--require-signature", is_flag=True, help="Require a verified signature even with --allow-unsigned."
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Print the execution summary, and check and step progress on stderr.",
)
@click.option("--remote", is_flag=True, help="Cast on the server of your profile (see spell login).")
@profile_option
@json_option
def command(
    spell_id: str,
    version: str | None,
    params: tuple[str, ...],
    input_file: Path | None,
    dry_run: bool,
    yes: bool,
    allow_billing: bool,
    allow_unsigned: bool,
    require_signature: bool,
    verbose: bool,
    remote: bool,
    profile: str | None,
    as_json: bool,
) -> None:
    """Cast SPELL_ID on this machine and print its outputs.

    \b
    Checks, in order (the first refusal stops the cast):
      resolve → input (-p / --input) → size cap (SPELL_RUNTIME_INPUT_MAX_BYTES) → JSON Schema →
      signature (required unless --allow-unsigned; policy signature.require_verified wins) →
      policy → platform (os/arch) → risk (high/critical need --yes) → billing (--allow-billing and a
      licence) → connector tokens (CONNECTOR_<NAME>_TOKEN) → execution summary.

    By default only the result is printed: the outputs and artifacts, then the lines
    `execution_id: EXEC_ID` and `log: PATH` (as spell-runtime prints them). -v
    adds the execution summary (what the spell may touch, its limits and signature) and the
    progress of each check and step; --dry-run prints the summary and runs nothing. When the
    cast fails, what a wasm spell wrote to stderr is printed to stderr.

    Every cast writes an execution log; `spell log EXEC_ID` shows it and
    `spell get-output EXEC_ID step.NAME.stdout` (or `output.PATH` for wasm spells) prints one
    output. Secrets are redacted. Files a wasm spell writes to its fs_write folders are kept
    under $SPELL_HOME/artifacts/EXEC_ID and listed with their sha256. Ctrl-C cancels the
    cast (the log records CANCELED); a second Ctrl-C interrupts at once.

    --json prints execution_id, outcome, output, outputs, usage, artifacts, stderr (a wasm
    spell's, capped) and the summary.

    --remote casts on the server of your profile instead, following its progress live; so does
    --profile NAME for a spell that is not installed here (an installed one is cast locally).
    -p, --input (any JSON document; - reads stdin), --version and --json apply to it.

    \b
    Examples:
      spell cast samples/hello -p name=world
      spell cast samples/word-count --input text.json --json
      echo '{"text": "a b c"}' | spell cast samples/word-count --input -
      spell cast acme/deploy --dry-run
      spell cast acme/hello --remote -p name=world
    """
    from spell.cli.commands._remote_cast import cast_remote, is_remote

    if is_remote(spell_id, remote=remote, profile=profile):
        cast_remote(
            spell_id,
            version=version,
            params=params,
            input_file=input_file,
            profile=profile,
            as_json=as_json,
            dry_run=dry_run,
        )
        return

    from spell.cli.commands._local_cast import cast_here

    cast_here(
        spell_id=spell_id,
        version=version,
        params=params,
        input_file=input_file,
        dry_run=dry_run,
        yes=yes,
        allow_billing=allow_billing,
        allow_unsigned=allow_unsigned,
        require_signature=require_signature,
        verbose=verbose,
        as_json=as_json,
    )
