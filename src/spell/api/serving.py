"""The platform and app that ``spell serve`` runs, in its one process or in each of ``--processes N``."""

from __future__ import annotations

import sys

from fastapi import FastAPI

from spell.api.app import create_app
from spell.config.billing import BillingSettings
from spell.config.github import GitHubSettings
from spell.config.server import ServerSettings
from spell.config.supply import SupplySettings
from spell.platform.server import Platform

__all__ = ["app_from_env", "configure_logs", "serving_platform", "tune_interpreter"]


def tune_interpreter() -> None:
    """Requests hop between the event loop, the thread pool and cast threads: a GIL switch interval
    shorter than the default 5 ms keeps each hop from waiting out a busy thread's full slice."""
    sys.setswitchinterval(0.0005)


def configure_logs(settings: ServerSettings) -> None:
    """The process's log lines as the settings say (JSON with request and cast ids by default)."""
    from spell.platform import logs

    logs.configure(settings.log_level, settings.log_format)


def serving_platform(settings: ServerSettings, *, serving: bool = True) -> Platform:
    """The platform with the configured money and card processor, sharing cache generations with the
    other processes of its data dir; a ``serving`` process of several also relays cancels."""
    # Stripe when SPELL_BILLING_STRIPE_* is set; the maker share of every charge.
    platform = Platform.build(
        settings,
        billing=BillingSettings.from_env(),
        supply=SupplySettings.from_env(),
        github=GitHubSettings.from_env(),
    )
    # The parent of several serving processes runs no casts and serves no requests: it need not listen.
    platform.share_with_siblings(relay_cancels=serving and settings.processes > 1, listen=serving)
    return platform


def app_from_env() -> FastAPI:
    """The app of one process of ``spell serve --processes N`` (uvicorn's factory; settings from env)."""
    tune_interpreter()
    settings = ServerSettings.from_env()
    configure_logs(settings)
    return create_app(settings, platform=serving_platform(settings))
