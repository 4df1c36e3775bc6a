"""Scratch databases and a one-step host spell shared by the benchmarks (run as scripts, not imported
by the project)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from spell.models import Base
from spell.storage.engine import make_engine
from spell.storage.session import Database

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def scratch_database(backend: str, tmp: Path, name: str) -> Iterator[Database]:
    """An empty schema on ``backend`` (``sqlite`` in ``tmp``, or a PostgreSQL database ``name`` made
    for the run and dropped after it)."""
    if backend == "sqlite":
        db = Database(make_engine(f"sqlite:///{tmp / name}.db"))
        Base.metadata.create_all(db.engine)
        yield db
        db.dispose()
        return
    admin = make_engine(PG_ADMIN).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(make_engine(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"))
    Base.metadata.create_all(db.engine)
    try:
        yield db
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def host_hello_bundle(root: Path) -> Path:
    """A one-step host spell ``bench/hello`` that echoes a word, in ``root/hello``."""
    bundle = root / "hello"
    (bundle / "steps").mkdir(parents=True)
    (bundle / "spell.yaml").write_text(
        "id: bench/hello\nversion: 1.0.0\nname: Hello\nruntime:\n  execution: host\n"
        "  platforms: [linux/amd64, linux/arm64]\n"
        "steps:\n  - uses: shell\n    name: hello\n    run: steps/hello.sh\n",
        encoding="utf-8",
    )
    (bundle / "schema.json").write_text('{"type": "object"}\n', encoding="utf-8")
    script = bundle / "steps" / "hello.sh"
    script.write_text('#!/bin/sh\necho "hello"\n', encoding="utf-8")
    script.chmod(0o755)
    return bundle
