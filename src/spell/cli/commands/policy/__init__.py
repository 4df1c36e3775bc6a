"""``spell policy``: show, validate and set the local policy file (one module per verb)."""

from __future__ import annotations

from spell.cli.lazy import verb_group

__all__ = ["group"]

group = verb_group(
    "policy",
    __name__,
    {
        "show": "Print the policy in force.",
        "validate": "Check a candidate policy file without installing it.",
        "set": "Validate a policy file and make it the local policy.",
    },
    help_text="""Show, validate and set the local policy ($SPELL_HOME/policy.json).

`spell cast` checks every cast against it before running. Keys (all optional but version and
default; unknown keys are errors): spells.allow/deny, publishers.allow/deny, max_risk,
runtime.allow_execution, effects.allow_types/deny_types/deny_mutations,
signature.require_verified, rollback.require_full_compensation. No file means allow all.

\b
Example policy.json:
  {"version": "v1", "default": "deny", "publishers": {"allow": ["acme"]}, "max_risk": "medium"}
""",
)
