"""The fixtures every test folder shares: databases on SQLite and PostgreSQL, and the running server."""

pytest_plugins = ["tests.fixtures.database", "tests.fixtures.server"]
