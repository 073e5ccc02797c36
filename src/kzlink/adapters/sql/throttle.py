"""A bound on failed sign-ins, per account and per client address, in SQL.

Every failure is a row: a keyed digest of the email (never the email itself),
the client address and the time. Sign-in is refused while either has too many
failures within :data:`WINDOW`. A success forgets that account's failures
only: the guesses against other accounts from the same address keep counting,
so signing in to an account of one's own resets nothing else. Rows are shared
by every process on the database, so the bound holds however many workers
serve the site.

Failures are recorded in a short transaction of their own, committed at once:
the request that failed may roll back, the failure must stay. On SQLite that
short transaction waits for the write lock, so the sign-in view records before
its own transaction writes anything (it writes nothing on a failure).

Known shortcomings: the check and the recording are two steps, so a burst of
parallel guesses can each pass the check before any is recorded, and exceed
the bound by the number of requests in flight. Anyone can lock an account out
for the length of the window by failing five times with its email; the
shopper then waits, since the page cannot tell them from the attacker.
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from kzlink.adapters.sql.models import LoginFailureRow
from kzlink.adapters.sql.users import normalise_email

# Five guesses per account make guessing a password hopeless; an address gets
# more, since the shoppers of one office or phone network may share it.
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW = timedelta(minutes=15)

# Longest client address kept: an IPv6 address with a zone fits.
MAX_ADDRESS = 64


@dataclass(frozen=True)
class Limits:
    account: int = ACCOUNT_LIMIT
    address: int = ADDRESS_LIMIT
    window: timedelta = WINDOW


def account_digest(key: bytes, email: str) -> str:
    """The keyed digest an email is stored under.

    Keyed, because an email is easy to guess: a plain digest could be matched
    against a list of addresses by whoever reads the table.
    """
    data = normalise_email(email).encode("utf-8", "surrogatepass")
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def clip_address(address: str | None) -> str:
    return (address or "unknown")[:MAX_ADDRESS]


class SqlLoginThrottle:
    """Failed sign-ins of every process, in the ``login_failures`` table.

    ``dbsession`` is the request's (reads, and forgetting after a success);
    ``session_factory`` gives the short sessions that record failures.
    """

    def __init__(
        self,
        dbsession: Session,
        session_factory: sessionmaker,
        key: bytes,
        limits: Limits = Limits(),
    ):
        self.dbsession = dbsession
        self.session_factory = session_factory
        self.key = key
        self.limits = limits

    def blocked(self, email: str, address: str | None, now: datetime) -> bool:
        """True when this account or this address has failed too often."""
        since = now - self.limits.window
        account = account_digest(self.key, email)
        by_account = self._count(LoginFailureRow.account == account, since)
        if by_account >= self.limits.account:
            return True
        by_address = self._count(
            LoginFailureRow.address == clip_address(address), since
        )
        return by_address >= self.limits.address

    def failed(self, email: str, address: str | None, now: datetime) -> None:
        """Record a failure at once, whatever becomes of the request."""
        with self.session_factory.begin() as session:
            session.execute(
                delete(LoginFailureRow)
                .where(LoginFailureRow.failed_at < now - self.limits.window)
                .execution_options(synchronize_session=False)
            )
            session.add(
                LoginFailureRow(
                    account=account_digest(self.key, email),
                    address=clip_address(address),
                    failed_at=now,
                )
            )

    def succeeded(self, email: str) -> None:
        """Forget the account's failures, with the request's transaction."""
        self.dbsession.execute(
            delete(LoginFailureRow)
            .where(LoginFailureRow.account == account_digest(self.key, email))
            .execution_options(synchronize_session=False)
        )

    def _count(self, which, since: datetime) -> int:
        statement = (
            select(func.count())
            .select_from(LoginFailureRow)
            .where(which, LoginFailureRow.failed_at > since)
        )
        return self.dbsession.execute(statement).scalar_one()
