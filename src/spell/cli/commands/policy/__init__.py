"""``spell policy``: show, validate and set the local policy file (one module per verb)."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

_V = "spell.cli.commands.policy"

VERBS: dict[str, tuple[str, str]] = {
    "show": (f"{_V}.show:command", "Print the policy in force."),
    "validate": (f"{_V}.validate:command", "Check a candidate policy file without installing it."),
    "set": (f"{_V}.set:command", "Validate a policy file and make it the local policy."),
}


@click.group(name="policy", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """Show, validate and set the local policy ($SPELL_HOME/policy.json).

    `spell cast` checks every cast against it before running. Keys (all optional but version and
    default; unknown keys are errors): spells.allow/deny, publishers.allow/deny, max_risk,
    runtime.allow_execution, effects.allow_types/deny_types/deny_mutations,
    signature.require_verified, rollback.require_full_compensation. No file means allow all.

    \b
    Example policy.json:
      {"version": "v1", "default": "deny", "publishers": {"allow": ["acme"]}, "max_risk": "medium"}
    """
