"""The HTTP edge: ``create_app(settings)``, routes, error rendering, request ids, SSE."""

from spell.api.app import create_app

__all__ = ["create_app"]
