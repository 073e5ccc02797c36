"""Engines and sessions: the connection settings kzlink relies on.

SQLite runs in WAL mode with a busy timeout, so that readers never wait and a
writer waits for another instead of failing, and with ``secure_delete`` so that
deleted tokens are overwritten rather than left in free pages. PostgreSQL is
reached through psycopg 3.

A known shortcoming: ``secure_delete`` acts on the database file only. Until
the next checkpoint the WAL file still holds the previous images of changed
pages (ciphertext, never a clear token), and PostgreSQL keeps dead row versions
until VACUUM reclaims them; a copy of the disk taken meanwhile holds them too.
"""

from sqlalchemy import create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

BUSY_TIMEOUT_MS = 5000

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA secure_delete=ON",
)


def database_url(url: str | URL) -> URL:
    """``url`` with psycopg 3 named as the driver of a plain PostgreSQL URL."""
    url = make_url(url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def make_engine(
    url: str | URL, busy_timeout_ms: int = BUSY_TIMEOUT_MS, **options
) -> Engine:
    """An engine for ``url``. On SQLite a writer waits up to ``busy_timeout_ms``
    for another; on SQLite a refresh holds the write lock while it calls
    Kazaplan, so kzlink passes more than its longest Kazaplan call."""
    engine = create_engine(database_url(url), **options)
    if engine.dialect.name == "sqlite":
        pragmas = (*_SQLITE_PRAGMAS, f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        event.listen(engine, "connect", _sqlite_pragmas_setter(pragmas))
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine)


def insert_ignoring_conflicts(session: Session, model, *key: str):
    """An INSERT of ``model`` that does nothing when ``key`` is already taken.

    Unlike catching IntegrityError, it leaves a PostgreSQL transaction usable.
    """
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"kzlink does not support {dialect}")
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(model).on_conflict_do_nothing(index_elements=list(key))


def _sqlite_pragmas_setter(pragmas):
    def set_pragmas(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        try:
            for pragma in pragmas:
                cursor.execute(pragma)
        finally:
            cursor.close()

    return set_pragmas
