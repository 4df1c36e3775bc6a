"""Spell: signed, sandboxed, pay-per-use programs.

The library core (``spell.bundle``, ``spell.signing``, ``spell.policy``,
``spell.runtimes``) works without a server; ``spell.errors`` holds the one error catalog.
"""

from spell.errors import SpellError

__all__ = ["SpellError", "__version__"]

__version__ = "0.1.0"
