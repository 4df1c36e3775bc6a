"""The console: server-rendered pages for casters (and makers) over the platform's services.

``install_console(app, platform)`` mounts it on the REST app at ``/`` (the API keeps ``/v1``).
How to add a page: README.md next to this file.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from spell.errors import InvalidInput
from spell.platform.auth.jwt import JwtVerifier
from spell.platform.auth.oidc import OidcClient
from spell.platform.auth.web_sessions import WebSessions
from spell.platform.server import Platform
from spell.web.assets import Assets
from spell.web.pages import auth, budget, casts, catalog, earnings, keys, maker, oidc, spell, static, wallet
from spell.web.templating import Pages

__all__ = ["ROUTERS", "install_console"]

#: Every page router, in the order the app tries them (more specific paths first where they overlap).
ROUTERS = [
    static.router,
    auth.router,
    oidc.router,
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
    app.state.oidc = _oidc(platform, getattr(app.state, "jwt", None))
    app.state.oidc_name = platform.settings.oidc_name
    for router in ROUTERS:
        app.include_router(router)


def _oidc(platform: Platform, verifier: JwtVerifier | None) -> OidcClient | None:
    """The OpenID sign-in, when a client id is configured (it needs the JWT settings to check tokens)."""
    settings = platform.settings
    if not settings.oidc_client_id:
        return None
    if verifier is None or not settings.jwt_issuers:
        raise InvalidInput(
            "OpenID sign-in checks ID tokens with the JWT settings",
            hint="set SPELL_SERVER_JWKS_URL (or _FILE), SPELL_SERVER_JWT_ISSUERS and _JWT_AUDIENCE",
        )
    return OidcClient.discover(
        settings.oidc_issuer or settings.jwt_issuers[0],
        settings.oidc_client_id,
        verifier,
        client_secret=settings.oidc_client_secret,
        authorize_url=settings.oidc_authorize_url,
        token_url=settings.oidc_token_url,
    )
