"""The fixtures every test folder shares: databases on SQLite and PostgreSQL, the running server, and an
S3-compatible server for artifacts in a bucket."""

pytest_plugins = ["tests.fixtures.database", "tests.fixtures.server", "tests.fixtures.s3"]
