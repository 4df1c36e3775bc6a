"""Fixtures of the SDK tests: a live server over a SQLite file in a temporary folder."""

from tests.fixtures.live import database_backend, live

__all__ = ["database_backend", "live"]
