"""The demo partner's own users, in SQL, with argon2 password hashes.

A partner that brings its own user store replaces this one through the
``user_store`` setting, which names :meth:`SqlUserStore.from_request`.
"""

import logging
import threading
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from zope.interface import implementer

from kzlink.adapters.sql.engine import insert_ignoring_conflicts
from kzlink.adapters.sql.models import UserRow
from kzlink.domain.errors import Error
from kzlink.domain.model import PartnerUser
from kzlink.domain.ports import IUserStore

log = logging.getLogger(__name__)

# The largest value of the ``users.id`` column on every database (32 bits).
_LARGEST_ID = 2**31 - 1


class EmailTakenError(Error):
    code = "email_taken"
    message = "An account with this email address already exists. Please sign in."


def normalise_email(email: str) -> str:
    return email.strip().lower()


class Passwords:
    """Hashing and checking passwords, the same way for every user store.

    Checking a password of an unknown account costs as much as a known one, so
    that response times do not reveal which addresses have accounts.
    """

    def __init__(self, hasher: PasswordHasher | None = None):
        self.hasher = hasher or PasswordHasher()
        self._dummy = None
        self._dummy_lock = threading.Lock()

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def check(self, stored_hash: str | None, password: str) -> bool:
        try:
            self.hasher.verify(stored_hash or self._dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return False
        return stored_hash is not None

    def needs_rehash(self, stored_hash: str) -> bool:
        return self.hasher.check_needs_rehash(stored_hash)

    def _dummy_hash(self) -> str:
        with self._dummy_lock:
            if self._dummy is None:
                self._dummy = self.hasher.hash("kzlink: no such account")
            return self._dummy


@implementer(IUserStore)
class SqlUserStore:
    def __init__(self, dbsession: Session, passwords: Passwords | None = None):
        self.dbsession = dbsession
        self.passwords = passwords or _default_passwords

    @classmethod
    def from_request(cls, request) -> "SqlUserStore":
        """The factory the ``user_store`` setting names."""
        return cls(request.kzlink_dbsession)

    def get(self, user_id: str) -> PartnerUser | None:
        row_id = _row_id(user_id)
        if row_id is None:
            return None
        row = self.dbsession.execute(
            select(UserRow.id, UserRow.email).where(UserRow.id == row_id)
        ).one_or_none()
        return _to_user(row) if row else None

    def register(self, email: str, password: str) -> PartnerUser:
        """Create a user; raises EmailTakenError when the email has one."""
        email = normalise_email(email)
        statement = insert_ignoring_conflicts(self.dbsession, UserRow, "email")
        row = self.dbsession.execute(
            statement.values(
                email=email,
                password_hash=self.passwords.hash(password),
                created_at=datetime.now(UTC),
            ).returning(UserRow.id, UserRow.email)
        ).one_or_none()
        if row is None:
            raise EmailTakenError("email already registered")
        log.info("user registered user_id=%s", row.id)
        return _to_user(row)

    def authenticate(self, email: str, password: str) -> PartnerUser | None:
        """The user with this email and password, or None."""
        row = self.dbsession.execute(
            select(UserRow).where(UserRow.email == normalise_email(email))
        ).scalar_one_or_none()
        stored_hash = row.password_hash if row else None
        if not self.passwords.check(stored_hash, password):
            return None
        if self.passwords.needs_rehash(stored_hash):
            row.password_hash = self.passwords.hash(password)
            self.dbsession.flush()
        return _to_user(row)


# One per process: it holds the dummy hash computed on first use.
_default_passwords = Passwords()


def _row_id(user_id) -> int | None:
    """The integer id in ``user_id``, or None when it cannot be one of ours."""
    if not (isinstance(user_id, str) and user_id.isascii() and user_id.isdigit()):
        return None
    row_id = int(user_id)
    return row_id if row_id <= _LARGEST_ID else None


def _to_user(row) -> PartnerUser:
    return PartnerUser(id=str(row.id), email=row.email)
