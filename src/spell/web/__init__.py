"""The console: server-rendered pages for casters (and makers) over the platform's services.

``install_console(app, platform)`` mounts it on the REST app at ``/`` (the API keeps ``/v1``).
How to add a page: README.md next to this file.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from spell.platform.auth.web_sessions import WebSessions
from spell.platform.server import Platform
from spell.web.assets import Assets
from spell.web.pages import auth, budget, casts, catalog, earnings, keys, maker, spell, static, wallet
from spell.web.templating import Pages

__all__ = ["ROUTERS", "install_console"]

#: Every page router, in the order the app tries them (more specific paths first where they overlap).
ROUTERS = [
    static.router,
    auth.router,
    catalog.router,
    casts.router,
    budget.router,
    wallet.router,
    maker.router,
    earnings.router,
    keys.router,
    spell.router,
]


def install_console(app: FastAPI, platform: Platform) -> None:
    """Add the console's routes and what they share (templates, static files, sessions) to ``app``."""
    assets = Assets()
    app.state.assets = assets
    app.state.pages = Pages(assets)
    app.state.web_sessions = WebSessions(
        platform.secret,
        ttl=timedelta(seconds=platform.settings.console_session_seconds),
        clock=platform.auth.clock,
    )
    for router in ROUTERS:
        app.include_router(router)
