"""The one error catalog of Spell.

Every failure that crosses a boundary is a ``SpellError`` with a stable ``code``
(UPPER_SNAKE, listed in DESIGN.md §3), an HTTP ``status_code``, a human ``message``,
optional ``details`` (JSON-safe) and an optional ``hint`` that says what to do.

Tree: each class with its ``code``, and its ``status_code`` where it differs from its parent's. A
``[platform.<domain>]`` leaf is defined in ``spell.platform.<domain>.errors``, beside the one domain
that raises it; everything else is here. A test keeps this tree equal to the classes::

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
    │   ├── BlobNotFound (BLOB_NOT_FOUND)
    │   ├── ArtifactNotFound (ARTIFACT_NOT_FOUND)  [platform.artifact]
    │   ├── ButtonNotFound (BUTTON_NOT_FOUND)  [platform.button]
    │   ├── TenantNotFound (TENANT_NOT_FOUND)  [platform.auth]
    │   ├── SbomNotFound (SBOM_NOT_FOUND)  [platform.spell]
    │   ├── LegalHoldTargetNotFound (LEGAL_HOLD_TARGET_NOT_FOUND)  [platform.retention]
    │   ├── ConsentNotFound (CONSENT_NOT_FOUND)  [platform.privacy]
    │   ├── WebhookEndpointNotFound (WEBHOOK_ENDPOINT_NOT_FOUND)  [platform.webhook]
    │   ├── WebhookDeliveryNotFound (WEBHOOK_DELIVERY_NOT_FOUND)  [platform.webhook]
    │   ├── ChargeNotFound (CHARGE_NOT_FOUND)  [platform.billing]
    │   ├── WorkflowNotFound (WORKFLOW_NOT_FOUND)
    │   └── LicenseNotFound (LICENSE_NOT_FOUND)
    ├── Conflict (CONFLICT, 409)
    │   ├── IdempotencyConflict (IDEMPOTENCY_CONFLICT)  [platform.cast]
    │   ├── AlreadyTerminal (ALREADY_TERMINAL)  [platform.cast]
    │   ├── NotRetryable (NOT_RETRYABLE)  [platform.cast]
    │   ├── AlreadyExists (ALREADY_EXISTS)
    │   ├── TenantAlreadyBound (TENANT_ALREADY_BOUND)  [platform.auth]
    │   ├── NotSuspended (NOT_SUSPENDED)  [platform.abuse]
    │   ├── AlreadyErased (ALREADY_ERASED)  [platform.privacy]
    │   ├── AlreadyRefunded (ALREADY_REFUNDED)  [platform.billing]
    │   ├── RefundNotCovered (REFUND_NOT_COVERED)  [platform.billing]
    │   ├── NothingOwed (NOTHING_OWED)  [platform.billing]
    │   ├── NotPurchasable (NOT_PURCHASABLE)  [platform.billing]
    │   ├── PayoutRefused (PAYOUT_REFUSED)  [platform.billing]
    │   └── StoreInconsistent (STORE_INCONSISTENT)
    ├── PermissionDenied (FORBIDDEN, 403)
    │   ├── TenantForbidden (TENANT_FORBIDDEN)  [platform.spell]
    │   ├── UserBanned (USER_BANNED)  [platform.auth]
    │   ├── SpellSuspended (SPELL_SUSPENDED)  [platform.cast]
    │   ├── RoleRequired (ROLE_REQUIRED)  [platform.auth]
    │   ├── ScopeNotAllowed (SCOPE_NOT_ALLOWED)  [platform.auth]
    │   ├── ProcessingRestricted (PROCESSING_RESTRICTED)  [platform.privacy]
    │   ├── CsrfRefused (CSRF_REFUSED)  [platform.auth]
    │   ├── ForbiddenRepo (FORBIDDEN_REPO)
    │   └── PolicyViolation (POLICY_DENIED)
    │       ├── ConfirmationRequired (CONFIRMATION_REQUIRED)
    │       ├── EntitlementRequired (ENTITLEMENT_REQUIRED)
    │       ├── PlatformMismatch (PLATFORM_MISMATCH)
    │       ├── ConnectorTokenMissing (CONNECTOR_TOKEN_MISSING)
    │       ├── EgressDenied (EGRESS_DENIED)
    │       └── PinRequired (PIN_REQUIRED)
    ├── AuthError (UNAUTHORIZED, 401)
    ├── QuotaError (QUOTA_EXCEEDED, 402)
    │   ├── BudgetCapExceeded (BUDGET_CAP_EXCEEDED)  [platform.budget]
    │   ├── InsufficientCredits (INSUFFICIENT_CREDITS)  [platform.ledger]
    │   ├── RateLimited (RATE_LIMITED, 429)  [platform.ratelimit]
    │   │   └── CastRateLimited (RATE_LIMITED)  [platform.ratelimit]
    │   ├── PaymentFailed (PAYMENT_FAILED)  [platform.billing]
    │   └── PurchaseRequired (PURCHASE_REQUIRED)  [platform.billing]
    ├── Gone (GONE, 410)
    │   └── ArtifactExpired (ARTIFACT_EXPIRED)  [platform.artifact]
    ├── PayloadTooLarge (PAYLOAD_TOO_LARGE, 413)
    ├── InvalidInput (VALIDATION_ERROR, 422)
    │   ├── InvalidManifest (INVALID_MANIFEST)
    │   ├── InvalidBundle (INVALID_BUNDLE)
    │   │   └── UnsafeArchive (UNSAFE_ARCHIVE)
    │   ├── InvalidPolicyFile (INVALID_POLICY)
    │   ├── InvalidTrustFile (INVALID_TRUST_FILE)
    │   ├── InvalidRegistry (INVALID_REGISTRY)
    │   ├── InvalidSbom (INVALID_SBOM)
    │   ├── ErasureNotConfirmed (ERASURE_NOT_CONFIRMED)  [platform.privacy]
    │   ├── IdempotencyKeyRequired (IDEMPOTENCY_KEY_REQUIRED)  [platform.billing]
    │   ├── RefundExceedsCharge (REFUND_EXCEEDS_CHARGE)  [platform.billing]
    │   └── SupplyChainRefused (SUPPLY_CHAIN_REFUSED)
    │       ├── SbomRequired (SBOM_REQUIRED)
    │       ├── VulnerableDependency (VULNERABLE_DEPENDENCY)
    │       └── LicenseNotAllowed (LICENSE_NOT_ALLOWED)
    ├── VerificationError (SIGNATURE_INVALID, 422)
    │   ├── SignatureMissing (SIGNATURE_MISSING)
    │   ├── SignatureUntrusted (SIGNATURE_UNTRUSTED)
    │   ├── PinMismatch (PIN_MISMATCH)
    │   ├── InvalidEntitlement (ENTITLEMENT_INVALID)
    │   ├── SigstoreInvalid (SIGSTORE_INVALID)
    │   ├── AuditChainBroken (AUDIT_CHAIN_BROKEN)  [platform.audit]
    │   └── LedgerDrift (LEDGER_DRIFT)  [platform.ledger]
    ├── RuntimeFailure (RUNTIME_FAILED)
    │   ├── Trap (TRAP)
    │   ├── Timeout (TIMEOUT, 504)
    │   ├── LimitExceeded (LIMIT_EXCEEDED)
    │   ├── OutputInvalid (OUTPUT_INVALID)
    │   └── EngineUnavailable (ENGINE_UNAVAILABLE, 503)
    │       └── SandboxUnavailable (SANDBOX_UNAVAILABLE)
    ├── FetchFailed (FETCH_FAILED, 502)
    ├── DatabaseUnavailable (DATABASE_UNAVAILABLE, 503)
    ├── BlobStoreUnavailable (BLOB_STORE_UNAVAILABLE, 503)
    ├── PaymentsUnavailable (PAYMENTS_UNAVAILABLE, 503)  [platform.billing]
    ├── Overloaded (OVERLOADED, 503)
    ├── ServerUnreachable (SERVER_UNREACHABLE, 503)
    ├── LedgerUnbalanced (LEDGER_UNBALANCED)  [platform.ledger]
    └── WebhookSignatureInvalid (WEBHOOK_SIGNATURE_INVALID, 400)  [platform.billing]
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AlreadyExists",
    "AuthError",
    "BlobNotFound",
    "BlobStoreUnavailable",
    "CastNotFound",
    "ConfirmationRequired",
    "Conflict",
    "ConnectorTokenMissing",
    "DatabaseUnavailable",
    "EgressDenied",
    "EngineUnavailable",
    "EntitlementRequired",
    "FetchFailed",
    "ForbiddenRepo",
    "Gone",
    "InvalidBundle",
    "InvalidEntitlement",
    "InvalidInput",
    "InvalidManifest",
    "InvalidPolicyFile",
    "InvalidRegistry",
    "InvalidSbom",
    "InvalidTrustFile",
    "KeyNotFound",
    "LicenseNotAllowed",
    "LicenseNotFound",
    "LimitExceeded",
    "LogNotFound",
    "NotFound",
    "OutputInvalid",
    "OutputNotFound",
    "Overloaded",
    "PayloadTooLarge",
    "PermissionDenied",
    "PinMismatch",
    "PinRequired",
    "PlatformMismatch",
    "PolicyViolation",
    "PublisherNotFound",
    "QuotaError",
    "RegistryNotFound",
    "RuntimeFailure",
    "SandboxUnavailable",
    "SbomRequired",
    "ServerUnreachable",
    "SignatureMissing",
    "SignatureUntrusted",
    "SigstoreInvalid",
    "SpellError",
    "SpellNotFound",
    "StoreInconsistent",
    "SupplyChainRefused",
    "Timeout",
    "Trap",
    "UnsafeArchive",
    "VerificationError",
    "VersionNotFound",
    "VulnerableDependency",
    "WorkflowNotFound",
    "error_class",
]

_BY_CODE: dict[str, type[SpellError]] = {}


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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The first class with a code keeps it: a family before the variants that share its code.
        _BY_CODE.setdefault(cls.code, cls)

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


_BY_CODE[SpellError.code] = SpellError


def error_class(code: str) -> type[SpellError] | None:
    """The class that answers with ``code`` on the wire, among the modules imported so far.

    Leaves defined in ``spell.platform.<domain>.errors`` are known once their module is imported.
    """
    return _BY_CODE.get(code)


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


class AlreadyExists(Conflict):
    """Something with that identity exists already (e.g. an immutable version)."""

    code = "ALREADY_EXISTS"


class PermissionDenied(SpellError):
    """The caller is known but may not do this."""

    code = "FORBIDDEN"
    status_code = 403


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


class Gone(SpellError):
    """The resource existed but is no longer available."""

    code = "GONE"
    status_code = 410


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


class BlobNotFound(NotFound):
    """No stored blob with that digest (never stored, or deleted since)."""

    code = "BLOB_NOT_FOUND"


class ServerUnreachable(SpellError):
    """A client could not connect to the Spell server, or got no answer in time."""

    code = "SERVER_UNREACHABLE"
    status_code = 503


class OutputNotFound(NotFound):
    """A cast has no output under that reference (``step.<name>.stdout|json[.path]``)."""

    code = "OUTPUT_NOT_FOUND"


class PlatformMismatch(PolicyViolation):
    """The spell does not list this machine's ``os/arch`` among its targets."""

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


class WorkflowNotFound(NotFound):
    """The repository has no workflow file of that name (a workflow spell's cast)."""

    code = "WORKFLOW_NOT_FOUND"


class ForbiddenRepo(PermissionDenied):
    """The caster's tenant may not run workflows in that repository: no installation of the platform's
    GitHub App is bound to the tenant for it, or the App is not installed there."""

    code = "FORBIDDEN_REPO"


class StoreInconsistent(Conflict):
    """The local store disagrees with itself (e.g. ``spell.id.txt`` names another id)."""

    code = "STORE_INCONSISTENT"


class PinRequired(PolicyViolation):
    """A registry entry lacks a commit or digest pin that the pin policy requires."""

    code = "PIN_REQUIRED"


class InvalidRegistry(InvalidInput):
    """A registry config or index does not follow its schema."""

    code = "INVALID_REGISTRY"


class InvalidSbom(InvalidInput):
    """An SBOM (``sbom.spdx.json`` / ``sbom.cdx.json``) is malformed or fails its schema."""

    code = "INVALID_SBOM"


class SupplyChainRefused(InvalidInput):
    """The supply-chain gate refuses a bundle; ``details`` names what it found."""

    code = "SUPPLY_CHAIN_REFUSED"


class SbomRequired(SupplyChainRefused):
    """The deployment requires an SBOM for this bundle (public spells by default) and it has none."""

    code = "SBOM_REQUIRED"


class VulnerableDependency(SupplyChainRefused):
    """A component matches an advisory at or above the blocking CVSS score."""

    code = "VULNERABLE_DEPENDENCY"


class LicenseNotAllowed(SupplyChainRefused):
    """A component's licence expression is denied, or not allowed by the allow-list."""

    code = "LICENSE_NOT_ALLOWED"


class PinMismatch(VerificationError):
    """What was fetched does not match the commit or digest pinned by the registry."""

    code = "PIN_MISMATCH"


class InvalidEntitlement(VerificationError):
    """An entitlement token is malformed, expired, or not signed by an active trusted key."""

    code = "ENTITLEMENT_INVALID"


class SigstoreInvalid(VerificationError):
    """A Sigstore bundle is malformed, does not verify, or was signed by an identity not allowed."""

    code = "SIGSTORE_INVALID"


class FetchFailed(SpellError):
    """A bundle source (git remote, registry index, image) could not be fetched."""

    code = "FETCH_FAILED"
    status_code = 502


class DatabaseUnavailable(SpellError):
    """The platform database cannot be reached or opened (server down, wrong host, no such database)."""

    code = "DATABASE_UNAVAILABLE"
    status_code = 503


class BlobStoreUnavailable(SpellError):
    """The artifact store cannot be used: its bucket is missing, refuses these credentials, or is down."""

    code = "BLOB_STORE_UNAVAILABLE"
    status_code = 503
