from tests.platform.moneydb import database, pg_database_url

__all__ = ["database", "pg_database_url"]
