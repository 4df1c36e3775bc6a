"""Supply-chain errors: constructors of the catalog's leaves this domain raises (tree in ``spell.errors``)."""

from __future__ import annotations

from spell.errors import InvalidInput

__all__ = ["invalid_advisories"]


def invalid_advisories(reason: str) -> InvalidInput:
    """422 for an advisory upload that is not a zip of OSV files or a JSON list of OSV records."""
    return InvalidInput(
        f"advisories: {reason}",
        hint="send a zip of OSV JSON files (Content-Type: application/zip) or a JSON list of OSV records",
    )
