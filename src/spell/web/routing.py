"""The route class of every console page: errors become HTML pages, not the API's JSON envelope.

A page route raises ``SpellError``s as REST routes do (the services raise them); here
``UNAUTHORIZED`` sends the browser to the sign-in page (htmx gets ``HX-Redirect``), and anything else
renders ``error.html`` with the error's status and code. A session that ended (revoked key, ban)
loses its cookie on the way.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from spell.api.routing import GuardedRoute
from spell.errors import AuthError, SpellError
from spell.platform import metrics
from spell.platform.auth.errors import UserBanned
from spell.web.session import clear_session_cookie, cookie_name
from spell.web.templating import Pages

__all__ = ["PageRoute", "sign_in_redirect"]


def sign_in_redirect(request: Request) -> Response:
    """Send the browser to the sign-in page, coming back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    # Coming back means a GET: only a page read is worth returning to, never a form's target.
    location = "/sign-in?next=" + quote(target, safe="") if request.method == "GET" else "/sign-in"
    if request.headers.get("hx-request"):
        response: Response = Response(status_code=204, headers={"HX-Redirect": location})
    else:
        response = RedirectResponse(location, status_code=303)
    if cookie_name(request) in request.cookies:
        # Only a cookie this request carried (and that failed) is dropped: a cross-site request, which
        # arrives without it, must not sign the browser out.
        clear_session_cookie(request, response)
    return response


class PageRoute(GuardedRoute):
    """A ``GuardedRoute`` whose errors render as console pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The guarded handler, its ``SpellError``s turned into pages or a sign-in redirect."""
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except AuthError:
                metrics.error(AuthError.code)
                return sign_in_redirect(request)
            except SpellError as exc:
                metrics.error(exc.code)
                pages: Pages = request.app.state.pages
                response = pages.render(request, "error.html", {"error": exc}, status_code=exc.status_code)
                response.headers["X-Spell-Error"] = exc.code  # the page's error code, for scripts and tests
                if isinstance(exc, UserBanned):
                    clear_session_cookie(request, response)
                return response

        return page
