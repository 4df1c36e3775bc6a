"""The licence and trust stores of ``$SPELL_HOME``, shared by the ``spell license`` verbs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spell.signing.licenses import LicenseStore, StoredLicense
    from spell.signing.trust import TrustStore

__all__ = ["describe", "home_stores"]


def home_stores() -> tuple[LicenseStore, TrustStore]:
    """The licence store and trust store under ``$SPELL_HOME`` (default ``~/.spell``)."""
    from spell.config.home import SpellHome
    from spell.signing.licenses import LicenseStore
    from spell.signing.trust import TrustStore

    home = SpellHome.from_env()
    return LicenseStore(home.licenses), TrustStore(home.trust)


def describe(stored: StoredLicense) -> tuple[dict[str, Any], str]:
    """The JSON summary and the human lines of one licence."""
    c = stored.claims
    human = "\n".join(
        [
            f"name: {stored.name}",
            f"issuer: {c.issuer}",
            f"key_id: {c.key_id}",
            f"mode: {c.mode}",
            f"currency: {c.currency}",
            f"max_amount: {c.max_amount}",
            f"window: {c.not_before} .. {c.expires_at}",
            f"revoked: {str(stored.revoked).lower()}"
            + (f" ({stored.revoke_reason})" if stored.revoked and stored.revoke_reason else ""),
        ]
    )
    return stored.to_dict(), human
