"""Database fixtures for storage tests (from tests.server_fixtures)."""

from tests.server_fixtures import database, database_url

__all__ = ["database", "database_url"]
