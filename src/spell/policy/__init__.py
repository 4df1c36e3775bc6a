"""Guards that decide whether an action may run, and the local policy file that configures them.

A guard has ``check(ctx) -> None`` and raises ``PolicyViolation`` (or a subclass) to refuse;
``AllOf`` / ``AnyOf`` compose guards. ``spell.policy.file`` reads ``$SPELL_HOME/policy.json`` and
turns it into the guards of ``spell.policy.rules``.
"""
