"""In-process stores with the same observable behaviour as the SQL ones.

For unit and functional tests, demos and scripts. Thread-safe within one
process; nothing survives the process and nothing is shared with another, so
``locked`` serialises the threads of one process only. Every write applies at
once: there is no unit of work to commit, and nothing is undone when a block
of ``locked`` raises.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from itertools import count

from zope.interface import implementer

from kzlink.adapters.sql.pending import KEEP_EXPIRED
from kzlink.adapters.sql.throttle import Limits, account_digest, clip_address
from kzlink.adapters.sql.users import EmailTakenError, Passwords, normalise_email
from kzlink.domain.authorization import (
    EnrollmentTicket,
    PendingAuthorization,
    digest,
)
from kzlink.domain.errors import (
    AccountLinkedElsewhereError,
    LinkChangedError,
    StateExpiredError,
    StateUnknownError,
    StateUsedError,
    TicketInvalidError,
)
from kzlink.domain.model import Link, LinkState, PartnerUser
from kzlink.domain.ports import (
    IEnrollmentTickets,
    ILinkStore,
    IPendingAuthorizations,
    IUserStore,
    LockedLink,
)


@implementer(ILinkStore)
class MemoryLinkStore:
    """``lock=False`` makes :meth:`locked` take no lock, as in SqlLinkStore."""

    def __init__(self, lock: bool = True):
        self.lock = lock
        self._links: dict[str, Link] = {}
        self._mutex = threading.Lock()
        self._user_locks: dict[str, threading.Lock] = {}

    def unlocked(self) -> "MemoryLinkStore":
        """The same links, through a store whose ``locked`` takes no lock."""
        view = MemoryLinkStore(lock=False)
        view._links, view._mutex = self._links, self._mutex
        return view

    def get(self, user_id: str) -> Link:
        with self._mutex:
            return self._links.get(user_id) or Link.unlinked(user_id)

    def find_by_kazaplan_user(self, kazaplan_user_id: int) -> Link | None:
        with self._mutex:
            return self._holder_of(kazaplan_user_id)

    def save(self, link: Link) -> Link:
        if link.state is LinkState.UNLINKED:
            link = replace(link, kazaplan_user_id=None, tokens=None)
        with self._mutex:
            stored = self._links.get(link.user_id)
            if (stored.version if stored else 0) != link.version:
                raise LinkChangedError(f"link of user {link.user_id} changed")
            holder = self._holder_of(link.kazaplan_user_id)
            if holder is not None and holder.user_id != link.user_id:
                raise AccountLinkedElsewhereError(
                    f"kazaplan user {link.kazaplan_user_id} is linked to another user"
                )
            saved = replace(link, version=link.version + 1)
            self._links[link.user_id] = saved
            return saved

    @contextmanager
    def locked(self, user_id: str) -> Iterator[LockedLink]:
        if not self.lock:
            yield LockedLink(self.get(user_id), self)
            return
        with self._mutex:
            user_lock = self._user_locks.setdefault(user_id, threading.Lock())
        with user_lock:
            yield LockedLink(self.get(user_id), self)

    def _holder_of(self, kazaplan_user_id: int | None) -> Link | None:
        if kazaplan_user_id is None:
            return None
        for link in self._links.values():
            if link.kazaplan_user_id == kazaplan_user_id:
                return link
        return None


class _SingleUse:
    """Values under the digest of their secret, each spent at most once.

    Items expired for longer than the SQL stores keep them are purged when a
    new one comes, as those stores do.
    """

    def __init__(self):
        self._items = {}
        self._used = set()
        self._mutex = threading.Lock()

    def add(self, secret: str, item, now: datetime) -> None:
        with self._mutex:
            for key, old in list(self._items.items()):
                if old.expires_at < now - KEEP_EXPIRED:
                    del self._items[key]
                    self._used.discard(key)
            self._items[digest(secret)] = item

    def spend(self, secret: str):
        """Return (taken now, item); item is None when unknown."""
        key = digest(secret)
        with self._mutex:
            item = self._items.get(key)
            taken = item is not None and key not in self._used
            if taken:
                self._used.add(key)
            return taken, item


@implementer(IPendingAuthorizations)
class MemoryPendingAuthorizations:
    def __init__(self):
        self._store = _SingleUse()

    def record(self, authorization: PendingAuthorization) -> None:
        self._store.add(authorization.state, authorization, authorization.created_at)

    def take(self, state: str, now: datetime) -> PendingAuthorization:
        taken, authorization = self._store.spend(state)
        if authorization is None:
            raise StateUnknownError("no such state")
        if not taken:
            raise StateUsedError(f"state of user {authorization.user_id} taken before")
        if authorization.is_expired(now):
            raise StateExpiredError(f"state of user {authorization.user_id} expired")
        return authorization


@implementer(IEnrollmentTickets)
class MemoryEnrollmentTickets:
    def __init__(self):
        self._store = _SingleUse()

    def issue(self, ticket: EnrollmentTicket) -> None:
        self._store.add(ticket.secret, ticket, ticket.expires_at)

    def redeem(self, secret: str, now: datetime) -> str:
        taken, ticket = self._store.spend(secret)
        if ticket is None or not taken or ticket.is_expired(now):
            raise TicketInvalidError("ticket unknown, used or expired")
        return ticket.user_id


@implementer(IUserStore)
class MemoryUserStore:
    def __init__(self, passwords: Passwords | None = None):
        self.passwords = passwords or Passwords()
        self._users: dict[str, tuple[PartnerUser, str]] = {}
        self._ids = count(1)
        self._mutex = threading.Lock()

    def get(self, user_id: str) -> PartnerUser | None:
        with self._mutex:
            entry = self._users.get(user_id)
        return entry[0] if entry else None

    def register(self, email: str, password: str) -> PartnerUser:
        email = normalise_email(email)
        password_hash = self.passwords.hash(password)
        with self._mutex:
            if self._find(email):
                raise EmailTakenError("email already registered")
            user = PartnerUser(id=str(next(self._ids)), email=email)
            self._users[user.id] = (user, password_hash)
        return user

    def authenticate(self, email: str, password: str) -> PartnerUser | None:
        with self._mutex:
            entry = self._find(normalise_email(email))
        user, stored_hash = entry or (None, None)
        if not self.passwords.check(stored_hash, password):
            return None
        if self.passwords.needs_rehash(stored_hash):
            with self._mutex:
                self._users[user.id] = (user, self.passwords.hash(password))
        return user

    def _find(self, email: str):
        return next(
            (entry for entry in self._users.values() if entry[0].email == email), None
        )


class MemoryLoginThrottle:
    """Failed sign-ins of this process, as ``SqlLoginThrottle`` counts them."""

    def __init__(self, key: bytes, limits: Limits = Limits()):
        self.key = key
        self.limits = limits
        self._failures: list[tuple[str, str, datetime]] = []
        self._mutex = threading.Lock()

    def blocked(self, email: str, address: str | None, now: datetime) -> bool:
        since = now - self.limits.window
        account, address = account_digest(self.key, email), clip_address(address)
        with self._mutex:
            recent = [entry for entry in self._failures if entry[2] > since]
        by_account = sum(1 for entry in recent if entry[0] == account)
        by_address = sum(1 for entry in recent if entry[1] == address)
        return by_account >= self.limits.account or by_address >= self.limits.address

    def failed(self, email: str, address: str | None, now: datetime) -> None:
        entry = (account_digest(self.key, email), clip_address(address), now)
        since = now - self.limits.window
        with self._mutex:
            self._failures = [old for old in self._failures if old[2] >= since]
            self._failures.append(entry)

    def succeeded(self, email: str) -> None:
        account = account_digest(self.key, email)
        with self._mutex:
            self._failures = [old for old in self._failures if old[0] != account]
