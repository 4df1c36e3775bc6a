"""Every settings group a platform takes besides ``ServerSettings``, read together: a server, a worker
and an operator command build the same platform from the same environment."""

from __future__ import annotations

from typing import TypedDict

from spell.config.abuse import AbuseSettings
from spell.config.billing import BillingSettings
from spell.config.github import GitHubSettings
from spell.config.privacy import PrivacySettings
from spell.config.retention import RetentionSettings
from spell.config.supply import SupplySettings
from spell.config.webhooks import WebhookSettings

__all__ = ["PlatformGroups", "platform_groups_from_env"]


class PlatformGroups(TypedDict):
    """The keyword arguments of ``Platform.build`` that are settings groups."""

    billing: BillingSettings
    supply: SupplySettings
    retention: RetentionSettings
    abuse: AbuseSettings
    privacy: PrivacySettings
    webhooks: WebhookSettings
    github: GitHubSettings


def platform_groups_from_env() -> PlatformGroups:
    """Each group from its ``SPELL_<GROUP>_*`` variables (defaults where unset)."""
    return PlatformGroups(
        billing=BillingSettings.from_env(),
        supply=SupplySettings.from_env(),
        retention=RetentionSettings.from_env(),
        abuse=AbuseSettings.from_env(),
        privacy=PrivacySettings.from_env(),
        webhooks=WebhookSettings.from_env(),
        github=GitHubSettings.from_env(),
    )
