"""The one error catalog of Spell.

Every failure that crosses a boundary is a ``SpellError`` with a stable ``code``
(UPPER_SNAKE, listed in DESIGN.md §3), an HTTP ``status_code``, a human ``message``,
optional ``details`` (JSON-safe) and an optional ``hint`` that says what to do.

Tree::

    SpellError (INTERNAL, 500)
    ├── NotFound (NOT_FOUND, 404)
    │   ├── SpellNotFound (SPELL_NOT_FOUND)
    │   ├── VersionNotFound (VERSION_NOT_FOUND)
    │   ├── CastNotFound (CAST_NOT_FOUND)
    │   ├── PublisherNotFound (PUBLISHER_NOT_FOUND)
    │   ├── KeyNotFound (KEY_NOT_FOUND)
    │   ├── LogNotFound (LOG_NOT_FOUND)
    │   ├── OutputNotFound (OUTPUT_NOT_FOUND)
    │   ├── RegistryNotFound (REGISTRY_NOT_FOUND)
    │   ├── ArtifactNotFound (ARTIFACT_NOT_FOUND)
    │   ├── ButtonNotFound (BUTTON_NOT_FOUND)
    │   ├── TenantNotFound (TENANT_NOT_FOUND)
    │   └── LicenseNotFound (LICENSE_NOT_FOUND)
    ├── Conflict (CONFLICT, 409)
    │   ├── IdempotencyConflict (IDEMPOTENCY_CONFLICT)
    │   ├── AlreadyTerminal (ALREADY_TERMINAL)
    │   ├── NotRetryable (NOT_RETRYABLE)
    │   ├── AlreadyExists (ALREADY_EXISTS)
    │   ├── TenantAlreadyBound (TENANT_ALREADY_BOUND)
    │   └── StoreInconsistent (STORE_INCONSISTENT)
    ├── PermissionDenied (FORBIDDEN, 403)
    │   ├── TenantForbidden (TENANT_FORBIDDEN)
    │   ├── UserBanned (USER_BANNED)
    │   ├── SpellSuspended (SPELL_SUSPENDED)
    │   ├── RoleRequired (ROLE_REQUIRED)
    │   ├── ScopeNotAllowed (SCOPE_NOT_ALLOWED)
    │   └── PolicyViolation (POLICY_DENIED)
    │       ├── ConfirmationRequired (CONFIRMATION_REQUIRED)
    │       ├── EntitlementRequired (ENTITLEMENT_REQUIRED)
    │       ├── PlatformMismatch (PLATFORM_MISMATCH)
    │       ├── ConnectorTokenMissing (CONNECTOR_TOKEN_MISSING)
    │       ├── EgressDenied (EGRESS_DENIED)
    │       └── PinRequired (PIN_REQUIRED)
    ├── AuthError (UNAUTHORIZED, 401)
    ├── QuotaError (402 / 429)
    │   ├── BudgetCapExceeded (BUDGET_CAP_EXCEEDED, 402)
    │   ├── InsufficientCredits (INSUFFICIENT_CREDITS, 402)
    │   └── RateLimited (RATE_LIMITED, 429)
    ├── Gone (GONE, 410)
    │   └── ArtifactExpired (ARTIFACT_EXPIRED)
    ├── PayloadTooLarge (PAYLOAD_TOO_LARGE, 413)
    ├── InvalidInput (VALIDATION_ERROR, 422)
    │   ├── InvalidManifest (INVALID_MANIFEST)
    │   ├── InvalidBundle (INVALID_BUNDLE)
    │   │   └── UnsafeArchive (UNSAFE_ARCHIVE)
    │   ├── InvalidPolicyFile (INVALID_POLICY)
    │   ├── InvalidTrustFile (INVALID_TRUST_FILE)
    │   └── InvalidRegistry (INVALID_REGISTRY)
    ├── VerificationError (SIGNATURE_INVALID, 422)
    │   ├── SignatureMissing (SIGNATURE_MISSING)
    │   ├── SignatureUntrusted (SIGNATURE_UNTRUSTED)
    │   ├── PinMismatch (PIN_MISMATCH)
    │   └── InvalidEntitlement (ENTITLEMENT_INVALID)
    ├── RuntimeFailure (RUNTIME_FAILED, 500)
    │   ├── Trap (TRAP)
    │   ├── Timeout (TIMEOUT, 504)
    │   ├── LimitExceeded (LIMIT_EXCEEDED)
    │   ├── OutputInvalid (OUTPUT_INVALID)
    │   └── EngineUnavailable (ENGINE_UNAVAILABLE, 503)
    │       └── SandboxUnavailable (SANDBOX_UNAVAILABLE)
    ├── FetchFailed (FETCH_FAILED, 502)
    ├── PaymentsUnavailable (PAYMENTS_UNAVAILABLE, 503)
    └── Overloaded (OVERLOADED, 503)
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AlreadyExists",
    "AlreadyTerminal",
    "ArtifactExpired",
    "ArtifactNotFound",
    "AuditChainBroken",
    "AuthError",
    "BudgetCapExceeded",
    "ButtonNotFound",
    "CastNotFound",
    "ConfirmationRequired",
    "Conflict",
    "ConnectorTokenMissing",
    "EgressDenied",
    "EngineUnavailable",
    "EntitlementRequired",
    "FetchFailed",
    "Gone",
    "IdempotencyConflict",
    "InsufficientCredits",
    "InvalidBundle",
    "InvalidEntitlement",
    "InvalidInput",
    "InvalidManifest",
    "InvalidPolicyFile",
    "InvalidRegistry",
    "InvalidTrustFile",
    "KeyNotFound",
    "LedgerDrift",
    "LedgerUnbalanced",
    "LicenseNotFound",
    "LimitExceeded",
    "LogNotFound",
    "NotFound",
    "NotRetryable",
    "OutputInvalid",
    "OutputNotFound",
    "Overloaded",
    "PayloadTooLarge",
    "PaymentFailed",
    "PaymentsUnavailable",
    "PermissionDenied",
    "PinMismatch",
    "PinRequired",
    "PlatformMismatch",
    "PolicyViolation",
    "PublisherNotFound",
    "QuotaError",
    "RateLimited",
    "RegistryNotFound",
    "RoleRequired",
    "RuntimeFailure",
    "SandboxUnavailable",
    "ScopeNotAllowed",
    "SignatureMissing",
    "SignatureUntrusted",
    "SpellError",
    "SpellNotFound",
    "SpellSuspended",
    "StoreInconsistent",
    "TenantAlreadyBound",
    "TenantForbidden",
    "TenantNotFound",
    "Timeout",
    "Trap",
    "UnsafeArchive",
    "UserBanned",
    "VerificationError",
    "VersionNotFound",
    "WebhookSignatureInvalid",
]


class SpellError(Exception):
    """Root of every error Spell raises on purpose.

    Subclasses set ``code`` and ``status_code`` at class level; instances carry the
    message, JSON-safe ``details``, an optional ``hint`` telling the user what to do,
    and an optional ``retry_after`` in seconds.
    """

    code: ClassVar[str] = "INTERNAL"
    status_code: ClassVar[int] = 500

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        hint: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})
        self.hint = hint
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, Any]:
        """Return the ``error`` object of the wire format (without request id)."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        if self.hint:
            body["hint"] = self.hint
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        return body

    def __str__(self) -> str:
        return self.message


class NotFound(SpellError):
    """A named thing does not exist (or is not visible to the caller)."""

    code = "NOT_FOUND"
    status_code = 404


class SpellNotFound(NotFound):
    """No spell with that id."""

    code = "SPELL_NOT_FOUND"


class VersionNotFound(NotFound):
    """The spell exists but not at that version."""

    code = "VERSION_NOT_FOUND"


class CastNotFound(NotFound):
    """No cast with that id."""

    code = "CAST_NOT_FOUND"


class PublisherNotFound(NotFound):
    """No trust entry or registered publisher with that name."""

    code = "PUBLISHER_NOT_FOUND"


class KeyNotFound(NotFound):
    """No key with that id."""

    code = "KEY_NOT_FOUND"


class LogNotFound(NotFound):
    """No execution log with that id."""

    code = "LOG_NOT_FOUND"


class Conflict(SpellError):
    """The request conflicts with the current state."""

    code = "CONFLICT"
    status_code = 409


class IdempotencyConflict(Conflict):
    """The idempotency key was used before with a different request."""

    code = "IDEMPOTENCY_CONFLICT"


class AlreadyTerminal(Conflict):
    """The cast already ended."""

    code = "ALREADY_TERMINAL"


class NotRetryable(Conflict):
    """The cast cannot be retried in its current state."""

    code = "NOT_RETRYABLE"


class AlreadyExists(Conflict):
    """Something with that identity exists already (e.g. an immutable version)."""

    code = "ALREADY_EXISTS"


class PermissionDenied(SpellError):
    """The caller is known but may not do this."""

    code = "FORBIDDEN"
    status_code = 403


class TenantForbidden(PermissionDenied):
    """The resource belongs to another tenant."""

    code = "TENANT_FORBIDDEN"


class UserBanned(PermissionDenied):
    """The caller is banned."""

    code = "USER_BANNED"


class PolicyViolation(PermissionDenied):
    """A guard or policy refused the action."""

    code = "POLICY_DENIED"


class ConfirmationRequired(PolicyViolation):
    """A risky action needs explicit confirmation (``--yes``)."""

    code = "CONFIRMATION_REQUIRED"


class EntitlementRequired(PolicyViolation):
    """A billed spell needs ``--allow-billing`` and a matching entitlement."""

    code = "ENTITLEMENT_REQUIRED"


class AuthError(SpellError):
    """Missing or invalid credentials."""

    code = "UNAUTHORIZED"
    status_code = 401


class QuotaError(SpellError):
    """A budget, balance or rate limit refused the action."""

    code = "QUOTA_EXCEEDED"
    status_code = 402


class BudgetCapExceeded(QuotaError):
    """Spent + reserved + estimate would pass a budget cap."""

    code = "BUDGET_CAP_EXCEEDED"


class InsufficientCredits(QuotaError):
    """The prepaid balance cannot cover the estimate."""

    code = "INSUFFICIENT_CREDITS"


class RateLimited(QuotaError):
    """Too many requests; retry after ``retry_after`` seconds."""

    code = "RATE_LIMITED"
    status_code = 429


class Gone(SpellError):
    """The resource existed but is no longer available."""

    code = "GONE"
    status_code = 410


class ArtifactExpired(Gone):
    """The artifact passed its expiry."""

    code = "ARTIFACT_EXPIRED"


class PayloadTooLarge(SpellError):
    """A body or input is larger than allowed."""

    code = "PAYLOAD_TOO_LARGE"
    status_code = 413


class InvalidInput(SpellError):
    """The input is malformed or fails validation."""

    code = "VALIDATION_ERROR"
    status_code = 422


class InvalidManifest(InvalidInput):
    """A manifest file is malformed; details name the file and field path."""

    code = "INVALID_MANIFEST"


class InvalidBundle(InvalidInput):
    """A bundle folder or archive is malformed."""

    code = "INVALID_BUNDLE"


class UnsafeArchive(InvalidBundle):
    """An archive holds a path, link, device or size that unpacking refuses."""

    code = "UNSAFE_ARCHIVE"


class InvalidPolicyFile(InvalidInput):
    """The policy file does not follow its schema."""

    code = "INVALID_POLICY"


class InvalidTrustFile(InvalidInput):
    """A trust-store file is unreadable or malformed."""

    code = "INVALID_TRUST_FILE"


class VerificationError(SpellError):
    """A signature or digest does not verify."""

    code = "SIGNATURE_INVALID"
    status_code = 422


class SignatureMissing(VerificationError):
    """The bundle carries no signature but one is required."""

    code = "SIGNATURE_MISSING"


class SignatureUntrusted(VerificationError):
    """The signature is by a key not (or no longer) trusted."""

    code = "SIGNATURE_UNTRUSTED"


class RuntimeFailure(SpellError):
    """The spell could not be run to completion."""

    code = "RUNTIME_FAILED"
    status_code = 500


class Trap(RuntimeFailure):
    """The sandboxed module trapped."""

    code = "TRAP"


class Timeout(RuntimeFailure):
    """A step or the whole cast ran past its time limit."""

    code = "TIMEOUT"
    status_code = 504


class LimitExceeded(RuntimeFailure):
    """A resource limit (fuel, memory, output) was hit."""

    code = "LIMIT_EXCEEDED"


class OutputInvalid(RuntimeFailure):
    """The spell's output is not what its manifest declares (not JSON, or JSON nested too deep)."""

    code = "OUTPUT_INVALID"


class EngineUnavailable(RuntimeFailure):
    """A needed engine (e.g. Docker) is not reachable."""

    code = "ENGINE_UNAVAILABLE"
    status_code = 503


class SandboxUnavailable(EngineUnavailable):
    """The sandbox host steps must run in cannot be used on this machine."""

    code = "SANDBOX_UNAVAILABLE"


class Overloaded(SpellError):
    """The platform is at capacity; retry later."""

    code = "OVERLOADED"
    status_code = 503


class OutputNotFound(NotFound):
    """A cast has no output under that reference (``step.<name>.stdout|json[.path]``)."""

    code = "OUTPUT_NOT_FOUND"


class PlatformMismatch(PolicyViolation):
    """The spell does not support this machine's platform (``os/arch``)."""

    code = "PLATFORM_MISMATCH"


class ConnectorTokenMissing(PolicyViolation):
    """A declared connector's ``CONNECTOR_<NAME>_TOKEN`` is not set."""

    code = "CONNECTOR_TOKEN_MISSING"


class EgressDenied(PolicyViolation):
    """An outbound URL or the address it resolves to is refused; ``details.reason`` says which rule."""

    code = "EGRESS_DENIED"


class RegistryNotFound(NotFound):
    """No registry is configured, or none with that name."""

    code = "REGISTRY_NOT_FOUND"


class LicenseNotFound(NotFound):
    """No stored licence with that name."""

    code = "LICENSE_NOT_FOUND"


class StoreInconsistent(Conflict):
    """The local store disagrees with itself (e.g. ``spell.id.txt`` names another id)."""

    code = "STORE_INCONSISTENT"


class PinRequired(PolicyViolation):
    """A registry entry lacks a commit or digest pin that the pin policy requires."""

    code = "PIN_REQUIRED"


class InvalidRegistry(InvalidInput):
    """A registry config or index does not follow its schema."""

    code = "INVALID_REGISTRY"


class PinMismatch(VerificationError):
    """What was fetched does not match the commit or digest pinned by the registry."""

    code = "PIN_MISMATCH"


class InvalidEntitlement(VerificationError):
    """An entitlement token is malformed, expired, or not signed by an active trusted key."""

    code = "ENTITLEMENT_INVALID"


class FetchFailed(SpellError):
    """A bundle source (git remote, registry index, image) could not be fetched."""

    code = "FETCH_FAILED"
    status_code = 502


class LedgerUnbalanced(SpellError):
    """A ledger transaction's postings do not sum to zero (a bug; nothing was written)."""

    code = "LEDGER_UNBALANCED"


class LedgerDrift(VerificationError):
    """A running balance differs from the sum of its postings; details list the accounts."""

    code = "LEDGER_DRIFT"


class AuditChainBroken(VerificationError):
    """An audit record was edited, deleted or moved; details name the first bad one."""

    code = "AUDIT_CHAIN_BROKEN"


class PaymentFailed(QuotaError):
    """The payment provider declined or failed a charge."""

    code = "PAYMENT_FAILED"


class PaymentsUnavailable(SpellError):
    """Card payments are not configured here, or the card processor cannot be reached (the prepaid
    wallet still works)."""

    code = "PAYMENTS_UNAVAILABLE"
    status_code = 503


class WebhookSignatureInvalid(SpellError):
    """A provider webhook's signature or timestamp does not verify."""

    code = "WEBHOOK_SIGNATURE_INVALID"
    status_code = 400


class SpellSuspended(PermissionDenied):
    """An operator suspended the spell; it cannot be cast until unsuspended."""

    code = "SPELL_SUSPENDED"


class ArtifactNotFound(NotFound):
    """No artifact with that id (or not visible to the caller)."""

    code = "ARTIFACT_NOT_FOUND"


class ButtonNotFound(NotFound):
    """No button with that id (or not visible to the caller)."""

    code = "BUTTON_NOT_FOUND"


class RoleRequired(PermissionDenied):
    """The user lacks the role the action needs (e.g. publishing needs ``maker``)."""

    code = "ROLE_REQUIRED"


class ScopeNotAllowed(PermissionDenied):
    """A key was asked for scopes beyond the calling credential's or the user's roles'."""

    code = "SCOPE_NOT_ALLOWED"


class TenantNotFound(NotFound):
    """No tenant with that id or name."""

    code = "TENANT_NOT_FOUND"


class TenantAlreadyBound(Conflict):
    """The issuer and org pair already names a tenant, or the tenant is bound to another pair."""

    code = "TENANT_ALREADY_BOUND"
