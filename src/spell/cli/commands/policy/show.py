"""``spell policy show``."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="show")
@json_option
def command(as_json: bool) -> None:
    """Print the policy in force, or say that none is configured (then everything is allowed).

    With --json: {"configured": bool, "path": ..., "policy": {...}}.
    """
    import json

    from spell.config.home import SpellHome
    from spell.policy.file import load_policy, policy_to_text

    path = SpellHome.from_env().policy_file
    configured = path.exists()
    policy = load_policy(path)
    data = {"configured": configured, "path": str(path), "policy": json.loads(policy_to_text(policy))}
    human = policy_to_text(policy).rstrip("\n") if configured else f"No runtime policy configured at {path}"
    emit(data, as_json=as_json, human=human)
