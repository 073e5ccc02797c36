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
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys=ON",
    "PRAGMA secure_delete=ON",
)


def database_url(url: str | URL) -> URL:
    """``url`` with psycopg 3 named as the driver of a plain PostgreSQL URL."""
    url = make_url(url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def make_engine(url: str | URL, **options) -> Engine:
    engine = create_engine(database_url(url), **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _set_sqlite_pragmas)
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


def _set_sqlite_pragmas(dbapi_connection, connection_record):
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()
