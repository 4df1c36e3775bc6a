"""Button errors: the button domain's leaves of the one catalog (tree in ``spell.errors``)."""

from __future__ import annotations

from spell.errors import NotFound

__all__ = ["ButtonNotFound"]


class ButtonNotFound(NotFound):
    """No button with that id (or not visible to the caller)."""

    code = "BUTTON_NOT_FOUND"
