"""What the ``spell trust`` verbs share: the trust store of ``$SPELL_HOME`` and how a key is named."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from spell.signing.trust import TrustStore

__all__ = ["home_trust_store", "publisher_key"]

_F = TypeVar("_F", bound=Callable[..., Any])


def publisher_key(action: str) -> Callable[[_F], _F]:
    """The ``PUBLISHER --key-id K`` arguments of a verb that acts on one key (``action`` it)."""

    def apply(command: _F) -> _F:
        with_key = click.option("--key-id", required=True, help=f"Key to {action}.")(command)
        return click.argument("publisher")(with_key)

    return apply


def home_trust_store() -> TrustStore:
    """The trust store under ``$SPELL_HOME`` (default ``~/.spell``)."""
    from spell.config.home import SpellHome
    from spell.signing.trust import TrustStore

    return TrustStore(SpellHome.from_env().trust)
