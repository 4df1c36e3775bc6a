"""Local casting: preflight guards, runtime dispatch, redaction and execution logs.

Contracts: preflight checks run in one fixed order and the first refusal wins; every cast leaves
exactly one execution log (``$SPELL_HOME/logs/<exec_id>.json``); everything logged, printed or
raised is redacted with the cast's secrets first.
"""

from spell.local.cast import LocalCast, Retention, cast_local
from spell.local.dispatch import RuntimeChoice, runtime_for
from spell.local.logs import ExecutionLogs
from spell.local.preflight import CastOptions, LocalContext, preflight
from spell.local.redaction import Redactor

__all__ = [
    "CastOptions",
    "ExecutionLogs",
    "LocalCast",
    "LocalContext",
    "Redactor",
    "Retention",
    "RuntimeChoice",
    "cast_local",
    "preflight",
    "runtime_for",
]
