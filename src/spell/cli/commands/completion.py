"""``spell completion bash|zsh|fish``: the shell completion script, from click's own support."""

from __future__ import annotations

import click

__all__ = ["SHELLS", "command"]

SHELLS = ("bash", "zsh", "fish")


@click.command(name="completion")
@click.argument("shell", type=click.Choice(SHELLS))
def command(shell: str) -> None:
    """Print the completion script of SHELL; load it once per shell session or from its start-up file.

    Commands, verbs, options and choices complete; the script asks `spell` itself, so it stays
    right after an upgrade.

    \b
    Examples:
      eval "$(spell completion bash)"              # in ~/.bashrc
      eval "$(spell completion zsh)"               # in ~/.zshrc
      spell completion fish > ~/.config/fish/completions/spell.fish
    """
    from click.shell_completion import get_completion_class

    from spell.cli.app import cli

    completion = get_completion_class(shell)
    if completion is None:  # pragma: no cover — every SHELLS entry is one click ships
        raise click.UsageError(f"click has no completion for {shell}")
    click.echo(completion(cli, {}, "spell", "_SPELL_COMPLETE").source())
