"""SQLAlchemy 2 typed models, one table per file, sharing one MetaData (``Base.metadata``)."""

from spell.models.api_key import ApiKey
from spell.models.artifact import Artifact
from spell.models.audit import AuditHead, AuditRecord
from spell.models.audit_checkpoint import AuditCheckpoint
from spell.models.base import Base
from spell.models.budget import Budget, BudgetUsage, Hold
from spell.models.button import Button
from spell.models.cast import RETRYABLE_STATUSES, TERMINAL_STATUSES, Cast, CastStatus
from spell.models.cast_event import CastEvent
from spell.models.entitlement import Entitlement
from spell.models.ledger import LedgerAccount, LedgerPosting, LedgerTransaction
from spell.models.payment import PaymentCustomer, PaymentRecord, RevenueShare, WebhookEvent
from spell.models.payout import Payout
from spell.models.policy_violation import PolicyViolation
from spell.models.privacy import ErasureRequest, PrivacyPreference, TransferConsent
from spell.models.publisher_key import Publisher, PublisherKey
from spell.models.refund import Refund
from spell.models.retention_run import RetentionRun
from spell.models.spell import VISIBILITIES, Spell, SpellVersion
from spell.models.spell_cast_count import SpellCastCount
from spell.models.spell_search import is_search_object
from spell.models.supply import (
    Advisory,
    AdvisoryPackage,
    PublisherSigstoreIdentity,
    SupplyFinding,
    SupplyNotice,
    VersionSbom,
)
from spell.models.tenant import Tenant
from spell.models.user import ROLES, User
from spell.models.web_session import WebSession
from spell.models.webhook_delivery import WebhookAttempt, WebhookDelivery
from spell.models.webhook_endpoint import WebhookEndpoint
from spell.models.webhook_secret import WebhookSecret

__all__ = [
    "RETRYABLE_STATUSES",
    "ROLES",
    "TERMINAL_STATUSES",
    "VISIBILITIES",
    "Advisory",
    "AdvisoryPackage",
    "ApiKey",
    "Artifact",
    "AuditCheckpoint",
    "AuditHead",
    "AuditRecord",
    "Base",
    "Budget",
    "BudgetUsage",
    "Button",
    "Cast",
    "CastEvent",
    "CastStatus",
    "Entitlement",
    "ErasureRequest",
    "Hold",
    "LedgerAccount",
    "LedgerPosting",
    "LedgerTransaction",
    "PaymentCustomer",
    "PaymentRecord",
    "Payout",
    "PolicyViolation",
    "PrivacyPreference",
    "Publisher",
    "PublisherKey",
    "PublisherSigstoreIdentity",
    "Refund",
    "RetentionRun",
    "RevenueShare",
    "Spell",
    "SpellCastCount",
    "SpellVersion",
    "SupplyFinding",
    "SupplyNotice",
    "Tenant",
    "TransferConsent",
    "User",
    "VersionSbom",
    "WebSession",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "WebhookSecret",
    "is_search_object",
]
