"""Functions shipped with the platform, run in-process: no maker code, so no sandbox is needed.

A ``builtin`` spell names one of them in ``runtime.builtin``; its input is checked against the
function's own schema (as well as the spell's), and its output is JSON. Each function is pure and
bounded by its input, which the caller has already capped.
"""

from spell.runtimes.builtin.catalog import BUILTINS, Builtin, BuiltinFailed, builtin_named
from spell.runtimes.builtin.runtime import BuiltinRuntime

__all__ = ["BUILTINS", "Builtin", "BuiltinFailed", "BuiltinRuntime", "builtin_named"]
