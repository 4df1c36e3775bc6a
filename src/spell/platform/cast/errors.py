"""Cast errors: the cast domain's leaves of the one catalog (tree in ``spell.errors``)."""

from __future__ import annotations

from spell.errors import Conflict, PermissionDenied

__all__ = ["AlreadyTerminal", "IdempotencyConflict", "NotRetryable", "SpellSuspended"]


class IdempotencyConflict(Conflict):
    """The idempotency key was used before with a different request."""

    code = "IDEMPOTENCY_CONFLICT"


class AlreadyTerminal(Conflict):
    """The cast already ended."""

    code = "ALREADY_TERMINAL"


class NotRetryable(Conflict):
    """The cast cannot be retried in its current state."""

    code = "NOT_RETRYABLE"


class SpellSuspended(PermissionDenied):
    """An operator suspended the spell; it cannot be cast until unsuspended."""

    code = "SPELL_SUSPENDED"
