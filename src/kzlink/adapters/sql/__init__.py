"""kzlink's SQL persistence: models, stores, and the request's database session.

``config.include("kzlink.adapters.sql")`` builds the engine from the
``database_url`` setting, keeps the session factory as
``registry.dbsession_factory`` and gives each request a ``request.kzlink_dbsession``
joined to its transaction (pyramid_tm and zope.sqlalchemy): committed when the
view succeeds, rolled back when it raises. :func:`lock_wait_ms` is how long a
request waits for another's refresh of the same link, on either database.
"""

import zope.sqlalchemy

from kzlink.adapters.sql.engine import (
    BUSY_TIMEOUT_MS,
    make_engine,
    make_session_factory,
)
from kzlink.adapters.sql.links import SqlLinkStore
from kzlink.adapters.sql.pending import SqlEnrollmentTickets, SqlPendingAuthorizations
from kzlink.adapters.sql.users import EmailTakenError, SqlUserStore

__all__ = [
    "EmailTakenError",
    "SqlEnrollmentTickets",
    "SqlLinkStore",
    "SqlPendingAuthorizations",
    "SqlUserStore",
    "includeme",
    "lock_wait_ms",
    "make_engine",
    "make_session_factory",
    "session_in_transaction",
]


def includeme(config):
    settings = config.registry.kzlink_settings
    # A transaction manager per request rather than per thread, as Pyramid's
    # own starter project does; an including app may have chosen already.
    config.get_settings().setdefault("tm.manager_hook", "pyramid_tm.explicit_manager")
    config.include("pyramid_tm")

    engine = make_engine(settings.database_url, lock_wait_ms(settings))
    config.registry.dbsession_factory = make_session_factory(engine)
    config.add_request_method(_dbsession, "kzlink_dbsession", reify=True)


def lock_wait_ms(settings) -> int:
    """How long to wait for the refresh lock: SQLite's busy timeout, and
    PostgreSQL's lock timeout in :meth:`SqlLinkStore.locked`.

    Longer than the longest Kazaplan call a refresh makes holding the lock, so
    that a request waiting on it gets its answer rather than an error, yet
    bounded, so that waiters do not pile up behind a refresh that hangs.
    """
    longest_call = settings.http_connect_timeout + settings.http_read_timeout
    return max(BUSY_TIMEOUT_MS, int((longest_call + 5) * 1000))


def session_in_transaction(session_factory, transaction_manager, info=None):
    """A session that commits and rolls back with ``transaction_manager``."""
    dbsession = session_factory(info=info or {})
    zope.sqlalchemy.register(dbsession, transaction_manager=transaction_manager)
    return dbsession


def _dbsession(request):
    return session_in_transaction(
        request.registry.dbsession_factory, request.tm, {"request": request}
    )
