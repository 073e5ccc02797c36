"""Links in SQL, tokens encrypted, writes guarded by the link's version.

Reads go through Core statements rather than ORM entities: a link read after
waiting for a lock must be the one in the database, never a copy cached in the
session's identity map.

``get``, ``find_by_kazaplan_user`` and ``save`` work in the request's session
and commit with it. ``locked`` opens a session of its own from the session
factory, takes the lock there and commits as the block ends, so that rotated
tokens are durable the moment the refresh is done, whatever the request does
next, and the lock lasts one refresh rather than the whole request. The lock
is a row lock on PostgreSQL, where a waiter gives up after ``lock_timeout_ms``
(LinkBusyError); on SQLite it is the whole database's write lock, and a waiter
gives up after the engine's busy timeout.

A known shortcoming on SQLite: while a refresh waits on Kazaplan under that
write lock, every other writer waits too, for that one call at most; SQLite
suits development and a single partner process, not production traffic. And,
as for the stores of pending.py, a request that has already written in its own
transaction and then refreshes would wait for its own write lock: the pages
that refresh do so before writing anything.
"""

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from zope.interface import implementer

from kzlink.adapters.cipher import KEY_BYTES, VERSION, key_id
from kzlink.adapters.sql.engine import BUSY_TIMEOUT_MS, insert_ignoring_conflicts
from kzlink.adapters.sql.models import LinkRow
from kzlink.domain.errors import (
    AccountLinkedElsewhereError,
    LinkBusyError,
    LinkChangedError,
    TokenDecryptionError,
)
from kzlink.domain.model import Link, LinkState, Tokens
from kzlink.domain.ports import ILinkStore, LockedLink

log = logging.getLogger(__name__)

_COLUMNS = (
    LinkRow.user_id,
    LinkRow.state,
    LinkRow.kazaplan_user_id,
    LinkRow.access_token,
    LinkRow.refresh_token,
    LinkRow.expires_at,
    LinkRow.scope,
    LinkRow.version,
)


# PostgreSQL's error for a lock not granted within lock_timeout.
_LOCK_NOT_AVAILABLE = "55P03"
# A ciphertext's header, "kz1.<key id>.", names its key: the version and the
# key id have fixed lengths.
_HEADER_LENGTH = len(f"{VERSION}.{key_id(bytes(KEY_BYTES))}.")


def token_context(user_id: str, column: str) -> str:
    """What a token's ciphertext is bound to: its user and its column."""
    return f"{user_id}:{column}"


@implementer(ILinkStore)
class SqlLinkStore:
    """``dbsession`` is the request's session. ``session_factory`` makes the
    sessions of :meth:`locked` (by default, sessions on ``dbsession``'s
    engine); ``lock_timeout_ms`` is how long one waits there for another
    refresh on PostgreSQL. ``lock=False`` (the ``refresh_lock`` setting off)
    keeps the unit of work of :meth:`locked` but takes no lock: concurrent
    refreshes then race, and the version guard turns the losers' saves into
    LinkChangedError."""

    def __init__(
        self,
        dbsession: Session,
        cipher,
        lock: bool = True,
        session_factory: sessionmaker | None = None,
        lock_timeout_ms: int = BUSY_TIMEOUT_MS,
    ):
        self.dbsession = dbsession
        self.cipher = cipher
        self.lock = lock
        self.session_factory = session_factory or sessionmaker(
            bind=dbsession.get_bind()
        )
        self.lock_timeout_ms = lock_timeout_ms

    def get(self, user_id: str) -> Link:
        row = self._read(LinkRow.user_id == user_id)
        return self._to_link(row) if row else Link.unlinked(user_id)

    def find_by_kazaplan_user(self, kazaplan_user_id: int) -> Link | None:
        row = self._read(LinkRow.kazaplan_user_id == kazaplan_user_id)
        return self._to_link(row) if row else None

    def save(self, link: Link) -> Link:
        values = self._to_values(link)
        try:
            stored = self._update(link, values) or self._insert(link, values)
        except IntegrityError:
            # Only the Kazaplan account's unique constraint can fail here.
            raise AccountLinkedElsewhereError(
                f"kazaplan user {link.kazaplan_user_id} is linked to another user"
            ) from None
        if not stored:
            raise LinkChangedError(f"link of user {link.user_id} changed")
        return Link(
            user_id=link.user_id,
            state=link.state,
            kazaplan_user_id=values["kazaplan_user_id"],
            tokens=link.tokens if values["access_token"] else None,
            version=link.version + 1,
        )

    @contextmanager
    def locked(self, user_id: str) -> Iterator[LockedLink]:
        with self.session_factory.begin() as session:
            store = SqlLinkStore(
                session,
                self.cipher,
                self.lock,
                self.session_factory,
                self.lock_timeout_ms,
            )
            link = store._lock(user_id) if self.lock else store.get(user_id)
            yield LockedLink(link, store)

    def _lock(self, user_id: str) -> Link:
        if self.dbsession.get_bind().dialect.name == "postgresql":
            # Waiters must not pile up behind a refresh that hangs: past the
            # longest Kazaplan call, the holder is not coming back soon.
            self.dbsession.execute(
                select(
                    func.set_config(
                        "lock_timeout", f"{int(self.lock_timeout_ms)}ms", True
                    )
                )
            )

        # A row that does not exist cannot be locked: make sure there is one
        # (version 0, the same as no row at all). On SQLite this write also
        # takes the database's write lock, which serialises across processes.
        # A refresh finds such a link unlinked and raises, which rolls the row
        # back with the block: none is left behind.
        placeholder = insert_ignoring_conflicts(self.dbsession, LinkRow, "user_id")
        try:
            self.dbsession.execute(
                placeholder.values(
                    user_id=user_id,
                    **self._to_values(Link.unlinked(user_id)),
                    version=0,
                )
            )
            row = self._read(LinkRow.user_id == user_id, for_update=True)
        except OperationalError as error:
            if not _waited_too_long(error):
                raise
            log.warning("refresh lock not granted in time user_id=%s", user_id)
            raise LinkBusyError(f"link of user {user_id} locked too long") from None
        return self._to_link(row)

    def _read(self, condition, for_update: bool = False):
        statement = select(*_COLUMNS).where(condition)
        if for_update:
            statement = statement.with_for_update()
        return self.dbsession.execute(statement).one_or_none()

    def _update(self, link: Link, values: dict) -> bool:
        result = self.dbsession.execute(
            update(LinkRow)
            .where(LinkRow.user_id == link.user_id, LinkRow.version == link.version)
            .values(**values, version=link.version + 1)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    def _insert(self, link: Link, values: dict) -> bool:
        # Version 0 means nothing stored yet; a later version must be in place.
        if link.version != 0:
            return False
        statement = insert_ignoring_conflicts(self.dbsession, LinkRow, "user_id")
        inserted = self.dbsession.execute(
            statement.values(user_id=link.user_id, **values, version=1).returning(
                LinkRow.user_id
            )
        )
        return inserted.first() is not None

    def _to_values(self, link: Link) -> dict:
        values = {
            "state": link.state.value,
            "kazaplan_user_id": link.kazaplan_user_id,
            "access_token": None,
            "refresh_token": None,
            "expires_at": None,
            "scope": None,
            "updated_at": datetime.now(UTC),
        }
        if link.state is LinkState.UNLINKED:
            # Unlinking forgets the account and its tokens for good.
            values["kazaplan_user_id"] = None
        elif link.tokens is not None:
            values.update(self._encrypted(link.user_id, link.tokens))
        return values

    def _encrypted(self, user_id: str, tokens: Tokens) -> dict:
        encrypt = self.cipher.encrypt
        return {
            "access_token": encrypt(
                tokens.access_token, token_context(user_id, "access")
            ),
            "refresh_token": encrypt(
                tokens.refresh_token, token_context(user_id, "refresh")
            ),
            "expires_at": tokens.expires_at,
            "scope": tokens.scope,
        }

    def _to_link(self, row) -> Link:
        return Link(
            user_id=row.user_id,
            state=LinkState(row.state),
            kazaplan_user_id=row.kazaplan_user_id,
            tokens=self._to_tokens(row),
            version=row.version,
        )

    def _to_tokens(self, row) -> Tokens | None:
        if row.access_token is None:
            return None
        decrypt = self.cipher.decrypt
        user_id = row.user_id
        return Tokens(
            access_token=decrypt(row.access_token, token_context(user_id, "access")),
            refresh_token=decrypt(row.refresh_token, token_context(user_id, "refresh")),
            expires_at=row.expires_at,
            scope=row.scope or "",
        )


def reencrypt_links(dbsession: Session, cipher) -> int:
    """Encrypt every stored token under the newest key; return rows changed.

    A row saved meanwhile (its version moved on) is left alone: its writer
    used the current keys.
    """
    rows = dbsession.execute(
        select(*_COLUMNS).where(LinkRow.access_token.is_not(None))
    ).all()
    changed = 0
    for row in rows:
        if not _stale(cipher, row.access_token, row.refresh_token):
            continue
        changed += _reencrypt_link(dbsession, cipher, row)
    return changed


def _stale(cipher, *ciphertexts: str) -> bool:
    return any(cipher.needs_rotation(text) for text in ciphertexts)


def _reencrypt_link(dbsession: Session, cipher, row) -> int:
    values = {}
    for column in ("access", "refresh"):
        context = token_context(row.user_id, column)
        try:
            plaintext = cipher.decrypt(getattr(row, f"{column}_token"), context)
        except TokenDecryptionError as error:
            raise TokenDecryptionError(
                f"the {column} token of user {row.user_id}: {error}"
            ) from None
        values[f"{column}_token"] = cipher.encrypt(plaintext, context)
    result = dbsession.execute(
        update(LinkRow)
        .where(LinkRow.user_id == row.user_id, LinkRow.version == row.version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    log.info("link tokens re-encrypted user_id=%s", row.user_id)
    return result.rowcount


def check_keys(session_factory, cipher) -> None:
    """Decrypt one stored token of every key in use, so that a key list missing
    any of them fails at start-up rather than at a shopper's first request.

    Ciphertexts name their key in their header (see
    :mod:`kzlink.adapters.cipher`): for each column, one row per distinct
    header is decrypted. Raises TokenDecryptionError when no configured key
    fits one of them. Does nothing when no token is stored yet, or when the
    table does not exist yet (the database is not migrated: the first request
    will say so).
    """
    try:
        with session_factory() as dbsession:
            samples = [
                (column, row)
                for column in ("access", "refresh")
                for row in _one_row_per_key(dbsession, column)
            ]
    except DBAPIError:
        log.warning("token keys not checked: the links table cannot be read")
        return
    for column, row in samples:
        cipher.decrypt(row.token, token_context(row.user_id, column))


def _one_row_per_key(dbsession: Session, column: str) -> list:
    token = getattr(LinkRow, f"{column}_token")
    header = func.substr(token, 1, _HEADER_LENGTH)
    sampled = (
        select(func.min(LinkRow.user_id).label("user_id"))
        .where(token.is_not(None))
        .group_by(header)
    )
    return dbsession.execute(
        select(LinkRow.user_id, token.label("token")).where(
            LinkRow.user_id.in_(sampled.scalar_subquery())
        )
    ).all()


def _waited_too_long(error: OperationalError) -> bool:
    """Whether ``error`` says a lock was not granted in the time allowed."""
    cause = error.orig
    if getattr(cause, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
        return True
    # SQLite's extended codes (a busy snapshot, say) keep the primary one in
    # their low byte.
    code = getattr(cause, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY
