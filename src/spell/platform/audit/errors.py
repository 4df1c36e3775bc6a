"""Audit errors: the audit domain's leaves of the one catalog (tree in ``spell.errors``)."""

from __future__ import annotations

from spell.errors import VerificationError

__all__ = ["AuditChainBroken"]


class AuditChainBroken(VerificationError):
    """An audit record was edited, deleted or moved; details name the first bad one."""

    code = "AUDIT_CHAIN_BROKEN"
