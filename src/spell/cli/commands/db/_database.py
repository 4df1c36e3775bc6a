"""What ``spell db`` verbs share: the URL as shown, one connection check, Alembic's state, and the
translation of driver and Alembic exceptions into one-line errors with a hint."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from spell.errors import DatabaseUnavailable, InvalidInput, SpellError

__all__ = ["connect_check", "database_errors", "history", "revisions", "shown_url"]

_URL_HINT = (
    "set SPELL_DATABASE_URL to sqlite:///PATH/platform.db or "
    "postgresql+psycopg://USER@HOST:PORT/DATABASE (unset: $SPELL_HOME/platform.db)"
)
_STATE_HINT = (
    "`spell db history` lists the revisions this Spell knows; `spell db current` shows the database's"
)


def shown_url(url: str) -> str:
    """``url`` without the user and password part, for messages and output."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rsplit('@', 1)[-1]}" if sep else url


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return lines[0] if lines else type(cause).__name__


@contextlib.contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turn what SQLAlchemy, the driver and Alembic raise for ``url`` into ``SpellError``s.

    A connection that cannot be made is ``DATABASE_UNAVAILABLE``; a URL that is not one, a
    missing driver or an unknown revision is ``VALIDATION_ERROR``; a migration statement that
    fails is ``INTERNAL`` with the database's own first line.
    """
    from alembic.util import CommandError
    from sqlalchemy import exc as sa

    shown = shown_url(url)
    try:
        yield
    except SpellError:
        raise
    except (sa.ArgumentError, sa.NoSuchModuleError) as exc:
        raise InvalidInput(
            f"SPELL_DATABASE_URL is not a database URL Spell can use: {shown}",
            details={"database": shown, "reason": _first_line(exc)},
            hint=_URL_HINT,
        ) from None
    except ModuleNotFoundError as exc:
        raise InvalidInput(
            f"the database driver {exc.name!r} for {shown} is not installed",
            details={"database": shown, "module": exc.name},
            hint="install it, e.g. pip install 'spell-platform[server,postgres]'",
        ) from None
    except CommandError as exc:
        raise InvalidInput(
            f"migration state: {_first_line(exc)}",
            details={"database": shown},
            hint=_STATE_HINT
            + "; a revision this Spell does not know means a newer Spell migrated the database",
        ) from None
    except sa.DBAPIError as exc:
        raise SpellError(
            f"a migration failed on {shown}: {_first_line(exc)}",
            details={"database": shown},
            hint=_STATE_HINT + "; the database keeps the last revision that completed",
        ) from None


def connect_check(url: str) -> None:
    """Open one connection to ``url``, or raise ``DATABASE_UNAVAILABLE`` / ``VALIDATION_ERROR``."""
    from sqlalchemy import exc as sa
    from sqlalchemy import text

    from spell.storage.engine import make_engine

    shown = shown_url(url)
    with database_errors(url):
        engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except sa.DBAPIError as exc:
        sqlite = url.startswith("sqlite")
        raise DatabaseUnavailable(
            f"cannot open the database {shown}: {_first_line(exc)}",
            details={"database": shown},
            hint=(
                "the SQLite file's folder must exist and be writable"
                if sqlite
                else "is the server running, and are the host, port, database name and user right?"
            ),
        ) from None
    finally:
        engine.dispose()


def revisions(url: str) -> dict[str, Any]:
    """The database's current revision and the newest one this Spell has."""
    from alembic.script import ScriptDirectory

    from spell.storage.migrate import alembic_config, current_revision

    connect_check(url)
    with database_errors(url):
        script = ScriptDirectory.from_config(alembic_config(url))
        head = script.get_current_head()
        current = current_revision(url)
        known = current is None or current in {rev.revision for rev in script.walk_revisions()}
    return {
        "database": shown_url(url),
        "current": current,
        "head": head,
        "is_current": current == head,
        "is_known": known,
    }


def history(url: str) -> list[dict[str, Any]]:
    """Every revision this Spell has, newest first, marked where the database is."""
    from alembic.script import ScriptDirectory

    from spell.storage.migrate import alembic_config

    state = revisions(url)
    script = ScriptDirectory.from_config(alembic_config(url))
    rows: list[dict[str, Any]] = []
    for rev in script.walk_revisions():
        down = rev.down_revision
        rows.append(
            {
                "revision": rev.revision,
                "down_revision": down if isinstance(down, str) or down is None else ",".join(down),
                "message": (rev.doc or "").strip().splitlines()[0] if rev.doc else "",
                "is_current": rev.revision == state["current"],
                "is_head": rev.revision == state["head"],
            }
        )
    return rows
