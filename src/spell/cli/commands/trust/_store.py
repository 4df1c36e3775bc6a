"""The trust store of ``$SPELL_HOME``, shared by the ``spell trust`` verbs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spell.signing.trust import TrustStore

__all__ = ["home_trust_store"]


def home_trust_store() -> TrustStore:
    """The trust store under ``$SPELL_HOME`` (default ``~/.spell``)."""
    from spell.config.home import SpellHome
    from spell.signing.trust import TrustStore

    return TrustStore(SpellHome.from_env().trust)
