"""The abuse domain's tests run on a fake clock with a threshold of three."""

from __future__ import annotations

from tests.platform.abuse.helpers import abuse_settings, clock, platform, server_settings

__all__ = ["abuse_settings", "clock", "platform", "server_settings"]
