"""Wire shapes of the registry (plain dicts built from rows; the API layer types them)."""

from __future__ import annotations

from typing import Any

from spell.kit.time import to_rfc3339
from spell.models import Spell, SpellVersion

__all__ = ["spell_out", "suspension_out", "version_out"]


def spell_out(spell: Spell) -> dict[str, Any]:
    """A spell as the API shows it."""
    return {
        "id": spell.id,
        "publisher": spell.publisher,
        "name": spell.name,
        "summary": spell.summary,
        "tags": list(spell.tags),
        "visibility": spell.visibility,
        "is_suspended": spell.is_suspended,
        "latest_version": spell.latest_version,
        "price_amount": spell.price_amount,
        "cast_count": spell.cast_count,
        "created_at": to_rfc3339(spell.created_at),
        "updated_at": to_rfc3339(spell.updated_at),
    }


def suspension_out(spell: Spell) -> dict[str, Any]:
    """What an operator's suspension answers: the spell's id and state, nothing its tenant keeps private."""
    return {"spell_id": spell.id, "is_suspended": spell.is_suspended, "reason": spell.suspend_reason}


def version_out(version: SpellVersion) -> dict[str, Any]:
    """A version as the API shows it."""
    return {
        "spell_id": version.spell_id,
        "version": version.version,
        "digest": version.digest,
        "execution": version.execution,
        "signer_key_id": version.signer_key_id,
        "is_yanked": version.is_yanked,
        "archive_size": version.archive_size,
        "input_schema": version.input_schema,
        "manifest": version.manifest,
        "created_at": to_rfc3339(version.created_at),
    }
