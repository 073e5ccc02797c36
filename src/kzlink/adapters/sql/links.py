"""Links in SQL, tokens encrypted, writes guarded by the link's version.

Reads go through Core statements rather than ORM entities: a link read after
waiting for a lock must be the one in the database, never a copy cached in the
session's identity map.

``locked`` holds a row lock on PostgreSQL, but the whole database's write lock
on SQLite, until the transaction ends. A known shortcoming on SQLite: while a
refresh waits on Kazaplan under that lock, every other writer waits too, and
fails once the busy timeout (5 s) has passed; SQLite suits development and a
single partner process, not production traffic.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from zope.interface import implementer

from kzlink.adapters.sql.engine import insert_ignoring_conflicts
from kzlink.adapters.sql.models import LinkRow
from kzlink.domain.errors import (
    AccountLinkedElsewhereError,
    LinkChangedError,
    TokenDecryptionError,
)
from kzlink.domain.model import Link, LinkState, Tokens
from kzlink.domain.ports import ILinkStore

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


def token_context(user_id: str, column: str) -> str:
    """What a token's ciphertext is bound to: its user and its column."""
    return f"{user_id}:{column}"


@implementer(ILinkStore)
class SqlLinkStore:
    """``lock=False`` (the ``refresh_lock`` setting off) makes :meth:`locked` a
    plain read: concurrent refreshes then race, and the version guard turns the
    losers' saves into LinkChangedError."""

    def __init__(self, dbsession: Session, cipher, lock: bool = True):
        self.dbsession = dbsession
        self.cipher = cipher
        self.lock = lock

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
    def locked(self, user_id: str) -> Iterator[Link]:
        if not self.lock:
            yield self.get(user_id)
            return

        # A row that does not exist cannot be locked: make sure there is one
        # (version 0, the same as no row at all). On SQLite this write also
        # takes the database's write lock, which serialises across processes.
        self.dbsession.execute(
            insert_ignoring_conflicts(self.dbsession, LinkRow, "user_id").values(
                user_id=user_id, **self._to_values(Link.unlinked(user_id)), version=0
            )
        )
        row = self._read(LinkRow.user_id == user_id, for_update=True)
        yield self._to_link(row)

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
    """Decrypt the most recently saved token, so that a wrong key list fails at
    start-up rather than at a shopper's first request.

    Raises TokenDecryptionError when no configured key fits it. Does nothing
    when no token is stored yet, or when the table does not exist yet (the
    database is not migrated: the first request will say so). One row is a
    sample, not a proof: rows left under a key that was since dropped show up
    only when read; ``kzlink-reencrypt`` before dropping a key prevents that.
    """
    query = (
        select(LinkRow.user_id, LinkRow.access_token)
        .where(LinkRow.access_token.is_not(None))
        .order_by(LinkRow.updated_at.desc())
        .limit(1)
    )
    with session_factory() as dbsession:
        try:
            row = dbsession.execute(query).first()
        except DBAPIError:
            log.warning("token keys not checked: the links table cannot be read")
            return
    if row is not None:
        cipher.decrypt(row.access_token, token_context(row.user_id, "access"))
