"""Rendering pages: one Jinja2 environment (autoescaped), the context every page shares, and the
navigation other page modules add their entries to."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from spell.kit.money import format_micros
from spell.web.assets import Assets

__all__ = ["NAV", "TEMPLATES_DIR", "NavItem", "Pages"]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class NavItem:
    """A link of the top navigation; ``scope`` hides it from sessions without that scope."""

    label: str
    href: str
    scope: str | None = None


#: The top navigation, in order. A page module appends its entry here at import time.
NAV: list[NavItem] = [
    NavItem("Spells", "/spells", "spell:read"),
    NavItem("Casts", "/casts", "cast:invoke"),
]


class Pages:
    """The template environment and the shared context of every page."""

    def __init__(self, assets: Assets, folder: Path = TEMPLATES_DIR) -> None:
        self.assets = assets
        self.env = Environment(
            loader=FileSystemLoader(folder),
            autoescape=select_autoescape(("html",), default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals["asset"] = assets.url
        self.env.filters["money"] = _money
        self.env.filters["pretty_json"] = _pretty_json

    def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        *,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        """Render ``name`` with the session (if any), its CSRF token and the navigation it may see."""
        session = getattr(request.state, "console_session", None)
        scopes = session.principal.scopes if session is not None else ()
        shared = {
            "request": request,
            "session": session,
            "csrf_token": session.csrf_token if session is not None else "",
            "nav": [
                item for item in NAV if session is not None and (item.scope is None or item.scope in scopes)
            ],
            "path": request.url.path,
        }
        html = self.env.get_template(name).render({**shared, **(context or {})})
        out = HTMLResponse(html, status_code=status_code, headers=headers)
        # Pages show a tenant's data: never kept by shared caches, nor replayed from history after sign-out.
        out.headers.setdefault("Cache-Control", "no-store")
        return out


def _money(micros: int | None, currency: str = "USD") -> str:
    if micros is None:
        return "—"
    return format_micros(micros, currency)


def _pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
