"""Privacy errors: the privacy domain's leaves of the one catalog (tree in ``spell.errors``)."""

from __future__ import annotations

from spell.errors import Conflict, InvalidInput, NotFound, PermissionDenied

__all__ = ["AlreadyErased", "ConsentNotFound", "ErasureNotConfirmed", "ProcessingRestricted"]


class ProcessingRestricted(PermissionDenied):
    """The user restricted the processing of their data: the platform starts no new cast for them."""

    code = "PROCESSING_RESTRICTED"


class ErasureNotConfirmed(InvalidInput):
    """An erasure was asked for without its confirmation (it cannot be undone)."""

    code = "ERASURE_NOT_CONFIRMED"


class AlreadyErased(Conflict):
    """The user was erased already."""

    code = "ALREADY_ERASED"


class ConsentNotFound(NotFound):
    """No transfer consent with that id for this user."""

    code = "CONSENT_NOT_FOUND"
