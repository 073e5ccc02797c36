"""Authorizations in flight and enrollment tickets, in SQL.

Only digests of states and ticket secrets are stored. Recording and issuing
join the request's transaction: on SQLite a second connection would wait for
the write lock that the request itself holds. Taking and redeeming commit at
once in a short session of their own, so that a state or ticket stays spent
even when the request that spent it fails afterwards.

A known shortcoming on SQLite: a request that has already written in its own
transaction and then takes or redeems makes the short session wait for the
request's own write lock, which fails after the busy timeout. The callback
and the enroll page take and redeem before writing anything.
"""

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker
from zope.interface import implementer

from kzlink.adapters.sql.models import EnrollmentTicketRow, PendingAuthorizationRow
from kzlink.domain.authorization import (
    EnrollmentTicket,
    PendingAuthorization,
    digest,
)
from kzlink.domain.errors import (
    StateExpiredError,
    StateUnknownError,
    StateUsedError,
    TicketInvalidError,
    TokenDecryptionError,
)
from kzlink.domain.ports import IEnrollmentTickets, IPendingAuthorizations

# Spent and expired rows are kept a while, so that a late callback is told
# "expired" or "used" rather than "unknown", then purged.
KEEP_EXPIRED = timedelta(days=1)


def verifier_context(state_digest: str) -> str:
    """What a code verifier's ciphertext is bound to."""
    return f"{state_digest}:code_verifier"


@implementer(IPendingAuthorizations)
class SqlPendingAuthorizations:
    def __init__(self, dbsession: Session, session_factory: sessionmaker, cipher):
        self.dbsession = dbsession
        self.session_factory = session_factory
        self.cipher = cipher

    def record(self, authorization: PendingAuthorization) -> None:
        key = digest(authorization.state)
        verifier = authorization.code_verifier
        _purge(self.dbsession, PendingAuthorizationRow, authorization.created_at)
        self.dbsession.add(
            PendingAuthorizationRow(
                digest=key,
                user_id=authorization.user_id,
                browser_session_digest=authorization.browser_session_digest,
                created_at=authorization.created_at,
                expires_at=authorization.expires_at,
                code_verifier=verifier
                and self.cipher.encrypt(verifier, verifier_context(key)),
            )
        )
        self.dbsession.flush()

    def take(self, state: str, now: datetime) -> PendingAuthorization:
        key = digest(state)
        with self.session_factory.begin() as session:
            taken, row = _spend(session, PendingAuthorizationRow, key, now)

        if row is None:
            raise StateUnknownError("no such state")
        if not taken:
            raise StateUsedError(f"state of user {row.user_id} taken before")
        authorization = PendingAuthorization(
            state=state,
            user_id=row.user_id,
            browser_session_digest=row.browser_session_digest,
            created_at=row.created_at,
            expires_at=row.expires_at,
            code_verifier=row.code_verifier
            and self.cipher.decrypt(row.code_verifier, verifier_context(key)),
        )
        if authorization.is_expired(now):
            raise StateExpiredError(f"state of user {row.user_id} expired")
        return authorization


@implementer(IEnrollmentTickets)
class SqlEnrollmentTickets:
    def __init__(self, dbsession: Session, session_factory: sessionmaker):
        self.dbsession = dbsession
        self.session_factory = session_factory

    def issue(self, ticket: EnrollmentTicket) -> None:
        # A ticket's issue time is not kept; its expiry is close enough to it.
        _purge(self.dbsession, EnrollmentTicketRow, ticket.expires_at)
        self.dbsession.add(
            EnrollmentTicketRow(
                digest=digest(ticket.secret),
                user_id=ticket.user_id,
                expires_at=ticket.expires_at,
            )
        )
        self.dbsession.flush()

    def redeem(self, secret: str, now: datetime) -> str:
        with self.session_factory.begin() as session:
            taken, row = _spend(session, EnrollmentTicketRow, digest(secret), now)

        if row is None or not taken or now >= row.expires_at:
            raise TicketInvalidError("ticket unknown, used or expired")
        return row.user_id


def _spend(session: Session, model, key: str, now: datetime):
    """Mark the row of ``key`` used unless it was; return (taken now, row)."""
    result = session.execute(
        update(model)
        .where(model.digest == key, model.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    row = session.execute(
        select(*model.__table__.c).where(model.digest == key)
    ).one_or_none()
    return result.rowcount == 1, row


def _purge(dbsession: Session, model, now: datetime) -> None:
    dbsession.execute(
        delete(model)
        .where(model.expires_at < now - KEEP_EXPIRED)
        .execution_options(synchronize_session=False)
    )


def reencrypt_verifiers(dbsession: Session, cipher) -> int:
    """Encrypt every stored code verifier under the newest key; return rows
    changed."""
    rows = dbsession.execute(
        select(
            PendingAuthorizationRow.digest, PendingAuthorizationRow.code_verifier
        ).where(PendingAuthorizationRow.code_verifier.is_not(None))
    ).all()
    changed = 0
    for row in rows:
        if not cipher.needs_rotation(row.code_verifier):
            continue
        context = verifier_context(row.digest)
        try:
            plaintext = cipher.decrypt(row.code_verifier, context)
        except TokenDecryptionError as error:
            raise TokenDecryptionError(
                f"the code verifier of a pending authorization: {error}"
            ) from None
        changed += dbsession.execute(
            update(PendingAuthorizationRow)
            .where(
                PendingAuthorizationRow.digest == row.digest,
                PendingAuthorizationRow.code_verifier == row.code_verifier,
            )
            .values(code_verifier=cipher.encrypt(plaintext, context))
            .execution_options(synchronize_session=False)
        ).rowcount
    return changed
