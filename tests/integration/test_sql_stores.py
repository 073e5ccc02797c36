"""The SQL stores on SQLite and PostgreSQL, and the behaviour every store of
links, authorizations, tickets and users must show (the ``*Contract`` classes,
also run against the in-memory stores)."""

import threading
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from zope.interface.verify import verifyClass, verifyObject

from kzlink.adapters.sql import (
    EmailTakenError,
    SqlEnrollmentTickets,
    SqlLinkStore,
    SqlPendingAuthorizations,
    SqlUserStore,
)
from kzlink.adapters.sql.engine import make_engine, make_session_factory
from kzlink.adapters.sql.models import LinkRow
from kzlink.adapters.sql.users import Passwords
from kzlink.domain.authorization import EnrollmentTicket, PendingAuthorization, digest
from kzlink.domain.errors import (
    AccountLinkedElsewhereError,
    LinkBusyError,
    LinkChangedError,
    StateExpiredError,
    StateUnknownError,
    StateUsedError,
    TicketInvalidError,
)
from kzlink.domain.model import (
    AuthorizationCompleted,
    Link,
    LinkState,
    RefreshRefused,
    TokenRefreshed,
    Tokens,
    Unlinked,
    transition,
)
from kzlink.domain.ports import (
    IEnrollmentTickets,
    ILinkStore,
    IPendingAuthorizations,
    IUserStore,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
USER = "partner-user-1"


def cheap_passwords() -> Passwords:
    # The lowest argon2 cost: the tests check behaviour, not hashing strength.
    return Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def tokens(name: str, expires_at: datetime = NOW + timedelta(hours=1)) -> Tokens:
    return Tokens(f"access-{name}", f"refresh-{name}", expires_at, "user")


def linked(link: Link, name: str = "first", kazaplan_user_id: int = 42) -> Link:
    return transition(link, AuthorizationCompleted(kazaplan_user_id, tokens(name)))


class Boom(Exception):
    pass


@dataclass
class Unit:
    """The stores of one unit of work, and how to end it."""

    links: object
    authorizations: object
    tickets: object
    users: object
    commit: object
    rollback: object


class SqlHarness:
    """Units of work on one database, each with its own session."""

    def __init__(self, session_factory, cipher):
        self.session_factory = session_factory
        self.cipher = cipher
        self.passwords = cheap_passwords()
        self._sessions = []

    def begin(self, lock: bool = True) -> Unit:
        session = self.session_factory()
        self._sessions.append(session)
        return Unit(
            links=SqlLinkStore(
                session, self.cipher, lock=lock, session_factory=self.session_factory
            ),
            authorizations=SqlPendingAuthorizations(
                session, self.session_factory, self.cipher
            ),
            tickets=SqlEnrollmentTickets(session, self.session_factory),
            users=SqlUserStore(session, self.passwords),
            commit=session.commit,
            rollback=session.rollback,
        )

    @contextmanager
    def unit(self, lock: bool = True):
        unit = self.begin(lock)
        try:
            yield unit
        except BaseException:
            unit.rollback()
            raise
        unit.commit()

    def close(self):
        for session in self._sessions:
            session.close()


@pytest.fixture
def harness(dbsession_factory, cipher):
    harness = SqlHarness(dbsession_factory, cipher)
    yield harness
    harness.close()


def run_refreshers(harness, lock: bool, count: int = 4, wait: float = 1.0):
    """Let ``count`` threads, each with its own store, enter ``locked`` for
    USER at once and save what they read; return (most simultaneous holders,
    links seen, errors)."""
    barrier = threading.Barrier(count)
    mutex = threading.Lock()
    holders = {"now": 0, "most": 0}
    seen, failures = [], []

    def refresher():
        try:
            with harness.unit(lock=lock) as unit, unit.links.locked(USER) as held:
                link = held.link
                with mutex:
                    holders["now"] += 1
                    holders["most"] = max(holders["most"], holders["now"])
                    seen.append(link)
                # Unlocked, every thread gets here and the barrier opens; locked,
                # the first holder waits alone and breaks it, and the next ones
                # find it broken and go on.
                with suppress(threading.BrokenBarrierError):
                    barrier.wait(timeout=wait)
                with mutex:
                    holders["now"] -= 1
                held.save(
                    replace(
                        link,
                        state=LinkState.LINKED,
                        kazaplan_user_id=42,
                        tokens=tokens(f"after-{link.version}"),
                    )
                )
        except Exception as error:  # noqa: BLE001 - reported by the test
            with mutex:
                failures.append(error)

    threads = [threading.Thread(target=refresher, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a refresher hung"
    return holders["most"], seen, failures


class LinkStoreContract:
    def test_a_link_never_saved_is_unlinked_at_version_0(self, harness):
        with harness.unit() as unit:
            link = unit.links.get(USER)
        assert link == Link.unlinked(USER)

    def test_a_saved_link_reads_back_whole(self, harness):
        with harness.unit() as unit:
            saved = unit.links.save(linked(unit.links.get(USER)))
        with harness.unit() as unit:
            read = unit.links.get(USER)

        assert saved.version == 1
        assert read == saved
        assert read.tokens.access_token == "access-first"
        assert read.tokens.refresh_token == "refresh-first"
        assert read.tokens.expires_at == NOW + timedelta(hours=1)
        assert read.tokens.expires_at.utcoffset() == timedelta(0)
        assert read.tokens.scope == "user"
        assert read.kazaplan_user_id == 42

    def test_each_save_increments_the_version(self, harness):
        with harness.unit() as unit:
            link = unit.links.save(linked(unit.links.get(USER)))
            link = unit.links.save(transition(link, TokenRefreshed(tokens("2"))))
        with harness.unit() as unit:
            assert unit.links.get(USER).version == 2
            assert unit.links.get(USER).tokens == tokens("2")

    def test_a_save_based_on_a_stale_read_is_refused(self, harness):
        with harness.unit() as unit:
            unit.links.save(linked(unit.links.get(USER)))
        first, second = harness.begin(), harness.begin()
        mine, theirs = first.links.get(USER), second.links.get(USER)

        first.links.save(transition(mine, TokenRefreshed(tokens("mine"))))
        first.commit()
        with pytest.raises(LinkChangedError):
            second.links.save(transition(theirs, TokenRefreshed(tokens("theirs"))))
        second.rollback()

        with harness.unit() as unit:
            assert unit.links.get(USER).tokens == tokens("mine")
            assert unit.links.get(USER).version == 2

    def test_two_first_saves_of_a_link_cannot_both_win(self, harness):
        first, second = harness.begin(), harness.begin()
        mine, theirs = first.links.get(USER), second.links.get(USER)

        first.links.save(linked(mine, "mine"))
        first.commit()
        with pytest.raises(LinkChangedError):
            second.links.save(linked(theirs, "theirs"))
        second.rollback()

        with harness.unit() as unit:
            assert unit.links.get(USER).tokens == tokens("mine")

    def test_a_version_never_stored_is_refused(self, harness):
        with harness.unit() as unit, pytest.raises(LinkChangedError):
            unit.links.save(replace(linked(Link.unlinked(USER)), version=3))

    def test_unlinking_forgets_tokens_and_account(self, harness):
        with harness.unit() as unit:
            link = unit.links.save(linked(unit.links.get(USER)))
            unlinked = unit.links.save(transition(link, Unlinked()))
        with harness.unit() as unit:
            read = unit.links.get(USER)
            found = unit.links.find_by_kazaplan_user(42)

        assert unlinked == read
        assert (read.state, read.tokens, read.kazaplan_user_id) == (
            LinkState.UNLINKED,
            None,
            None,
        )
        assert read.version == 2
        assert found is None

    def test_saving_an_unlinked_link_drops_what_it_still_carries(self, harness):
        carrying = replace(linked(Link.unlinked(USER)), state=LinkState.UNLINKED)
        with harness.unit() as unit:
            unit.links.save(carrying)
        with harness.unit() as unit:
            read = unit.links.get(USER)
        assert (read.tokens, read.kazaplan_user_id) == (None, None)

    def test_a_broken_link_keeps_its_account_but_no_tokens(self, harness):
        with harness.unit() as unit:
            link = unit.links.save(linked(unit.links.get(USER)))
            unit.links.save(transition(link, RefreshRefused()))
        with harness.unit() as unit:
            read = unit.links.get(USER)
        assert (read.state, read.kazaplan_user_id, read.tokens) == (
            LinkState.BROKEN,
            42,
            None,
        )

    def test_find_by_kazaplan_user(self, harness):
        with harness.unit() as unit:
            unit.links.save(linked(unit.links.get(USER), kazaplan_user_id=42))
            unit.links.save(linked(unit.links.get("other"), kazaplan_user_id=43))
        with harness.unit() as unit:
            assert unit.links.find_by_kazaplan_user(42).user_id == USER
            assert unit.links.find_by_kazaplan_user(43).user_id == "other"
            assert unit.links.find_by_kazaplan_user(44) is None

    def test_kazaplan_user_ids_beyond_32_bits_are_kept(self, harness):
        large = 2**62 + 7
        with harness.unit() as unit:
            unit.links.save(linked(unit.links.get(USER), kazaplan_user_id=large))
        with harness.unit() as unit:
            assert unit.links.get(USER).kazaplan_user_id == large
            assert unit.links.find_by_kazaplan_user(large).user_id == USER

    def test_one_kazaplan_account_cannot_be_linked_twice(self, harness):
        with harness.unit() as unit:
            unit.links.save(linked(unit.links.get(USER), kazaplan_user_id=42))
        with pytest.raises(AccountLinkedElsewhereError), harness.unit() as unit:
            unit.links.save(linked(unit.links.get("other"), kazaplan_user_id=42))
        with harness.unit() as unit:
            assert unit.links.get("other").state is LinkState.UNLINKED

    def test_locked_yields_the_link_and_allows_saving_it(self, harness):
        with harness.unit() as unit:
            unit.links.save(linked(unit.links.get(USER)))
        with harness.unit() as unit, unit.links.locked(USER) as held:
            assert held.link.tokens == tokens("first")
            held.save(transition(held.link, TokenRefreshed(tokens("2"))))
            assert held.get(USER).tokens == tokens("2")
        with harness.unit() as unit:
            assert unit.links.get(USER).tokens == tokens("2")

    def test_locked_on_a_link_never_saved_yields_it_unlinked(self, harness):
        with harness.unit() as unit, unit.links.locked(USER) as held:
            assert held.link == Link.unlinked(USER)
            held.save(linked(held.link))
        with harness.unit() as unit:
            assert unit.links.get(USER).version == 1

    def test_what_is_saved_under_the_lock_stays_when_the_caller_fails(self, harness):
        with harness.unit() as unit:
            unit.links.save(linked(unit.links.get(USER)))

        with pytest.raises(Boom), harness.unit() as unit:
            with unit.links.locked(USER) as held:
                held.save(transition(held.link, TokenRefreshed(tokens("2"))))
            raise Boom

        with harness.unit() as unit:
            assert unit.links.get(USER).tokens == tokens("2")
            assert unit.links.get(USER).version == 2

    def test_what_is_saved_under_the_lock_is_seen_at_once(self, harness):
        with harness.unit() as unit:
            unit.links.save(linked(unit.links.get(USER)))
        caller, other = harness.begin(), harness.begin()

        with caller.links.locked(USER) as held:
            held.save(transition(held.link, TokenRefreshed(tokens("2"))))

        # Neither unit of work has ended: the save did not wait for them.
        assert other.links.get(USER).tokens == tokens("2")
        caller.rollback()
        other.rollback()

    @pytest.mark.parametrize("existing", [True, False], ids=["saved", "new"])
    def test_locked_lets_one_holder_in_at_a_time(self, harness, existing):
        start = 0
        if existing:
            with harness.unit() as unit:
                start = unit.links.save(linked(unit.links.get(USER), "initial")).version

        most, seen, failures = run_refreshers(harness, lock=True)

        assert failures == []
        assert most == 1
        versions = sorted(link.version for link in seen)
        assert versions == list(range(start, start + 4))
        for link in seen:
            if link.version > start:
                # Each holder read what the one before it wrote.
                assert link.tokens == tokens(f"after-{link.version - 1}")
        with harness.unit() as unit:
            assert unit.links.get(USER).version == start + 4

    def test_without_the_lock_refreshers_overlap_and_all_but_one_fail(self, harness):
        with harness.unit() as unit:
            unit.links.save(linked(unit.links.get(USER), "initial"))

        most, seen, failures = run_refreshers(harness, lock=False)

        assert most == 4
        assert {link.version for link in seen} == {1}
        assert len(failures) == 3
        assert all(isinstance(error, LinkChangedError) for error in failures)
        with harness.unit() as unit:
            assert unit.links.get(USER).version == 2


def pending(state: str = "state-1", verifier: str | None = "verifier-1"):
    return PendingAuthorization(
        state=state,
        user_id=USER,
        browser_session_digest=digest("browser-session-1"),
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=10),
        code_verifier=verifier,
    )


class PendingAuthorizationsContract:
    def test_a_recorded_authorization_is_taken_whole(self, harness):
        with harness.unit() as unit:
            unit.authorizations.record(pending())
        with harness.unit() as unit:
            taken = unit.authorizations.take("state-1", NOW + timedelta(minutes=1))
        assert taken == pending()
        assert taken.code_verifier == "verifier-1"

    def test_without_a_verifier(self, harness):
        with harness.unit() as unit:
            unit.authorizations.record(pending(verifier=None))
        with harness.unit() as unit:
            assert unit.authorizations.take("state-1", NOW).code_verifier is None

    def test_an_authorization_is_taken_once(self, harness):
        with harness.unit() as unit:
            unit.authorizations.record(pending())
        with harness.unit() as unit:
            unit.authorizations.take("state-1", NOW)
        with harness.unit() as unit, pytest.raises(StateUsedError):
            unit.authorizations.take("state-1", NOW)

    def test_an_unknown_state(self, harness):
        with harness.unit() as unit:
            unit.authorizations.record(pending())
        with harness.unit() as unit, pytest.raises(StateUnknownError):
            unit.authorizations.take("state-2", NOW)

    def test_an_expired_authorization_is_refused_and_spent(self, harness):
        with harness.unit() as unit:
            unit.authorizations.record(pending())
        late = NOW + timedelta(minutes=10)
        with harness.unit() as unit, pytest.raises(StateExpiredError):
            unit.authorizations.take("state-1", late)
        with harness.unit() as unit, pytest.raises(StateUsedError):
            unit.authorizations.take("state-1", late)

    def test_taking_stays_done_when_the_unit_of_work_fails(self, harness):
        with harness.unit() as unit:
            unit.authorizations.record(pending())
        with pytest.raises(Boom), harness.unit() as unit:
            unit.links.get(USER)
            unit.authorizations.take("state-1", NOW)
            raise Boom
        with harness.unit() as unit, pytest.raises(StateUsedError):
            unit.authorizations.take("state-1", NOW)

    def test_authorizations_expired_a_day_ago_are_purged(self, harness):
        with harness.unit() as unit:
            unit.authorizations.record(pending("old"))
            unit.authorizations.record(
                replace(pending("new"), created_at=NOW + timedelta(days=1, minutes=11))
            )
        with harness.unit() as unit, pytest.raises(StateUnknownError):
            unit.authorizations.take("old", NOW)


def ticket(secret: str = "ticket-1") -> EnrollmentTicket:
    return EnrollmentTicket(secret, USER, NOW + timedelta(minutes=1))


class EnrollmentTicketsContract:
    def test_a_ticket_redeems_to_its_user_once(self, harness):
        with harness.unit() as unit:
            unit.tickets.issue(ticket())
        with harness.unit() as unit:
            assert unit.tickets.redeem("ticket-1", NOW) == USER
        with harness.unit() as unit, pytest.raises(TicketInvalidError):
            unit.tickets.redeem("ticket-1", NOW)

    def test_an_unknown_ticket(self, harness):
        with harness.unit() as unit:
            unit.tickets.issue(ticket())
        with harness.unit() as unit, pytest.raises(TicketInvalidError):
            unit.tickets.redeem("ticket-2", NOW)

    def test_an_expired_ticket(self, harness):
        with harness.unit() as unit:
            unit.tickets.issue(ticket())
        with harness.unit() as unit, pytest.raises(TicketInvalidError):
            unit.tickets.redeem("ticket-1", NOW + timedelta(minutes=1))

    def test_redeeming_stays_done_when_the_unit_of_work_fails(self, harness):
        with harness.unit() as unit:
            unit.tickets.issue(ticket())
        with pytest.raises(Boom), harness.unit() as unit:
            assert unit.tickets.redeem("ticket-1", NOW) == USER
            raise Boom
        with harness.unit() as unit, pytest.raises(TicketInvalidError):
            unit.tickets.redeem("ticket-1", NOW)


class UserStoreContract:
    def test_a_registered_user_is_found_by_id(self, harness):
        with harness.unit() as unit:
            user = unit.users.register(" Ann@Example.COM ", "correct horse")
        with harness.unit() as unit:
            found = unit.users.get(user.id)
        assert isinstance(user.id, str)
        assert user.email == "ann@example.com"
        assert found == user

    @pytest.mark.parametrize(
        "user_id", ["999", "ann", "", " 1", "1.0", "-1", "\u0661", "9" * 30]
    )
    def test_unknown_or_malformed_ids_are_nobody(self, harness, user_id):
        with harness.unit() as unit:
            unit.users.register("ann@example.com", "correct horse")
        with harness.unit() as unit:
            assert unit.users.get(user_id) is None

    def test_an_email_is_taken_whatever_its_case(self, harness):
        with harness.unit() as unit:
            unit.users.register("ann@example.com", "correct horse")
        with harness.unit() as unit, pytest.raises(EmailTakenError):
            unit.users.register("ANN@example.com", "another")

    def test_authenticate(self, harness):
        with harness.unit() as unit:
            user = unit.users.register("ann@example.com", "correct horse")
        with harness.unit() as unit:
            assert unit.users.authenticate("Ann@Example.com", "correct horse") == user
            assert unit.users.authenticate("ann@example.com", "wrong horse") is None
            assert unit.users.authenticate("bob@example.com", "correct horse") is None


class TestSqlLinks(LinkStoreContract):
    def test_a_block_that_raises_saves_nothing_and_leaves_no_row(self, harness):
        with (
            pytest.raises(Boom),
            harness.unit() as unit,
            unit.links.locked(USER) as held,
        ):
            held.save(linked(held.link))
            raise Boom

        with harness.unit() as unit:
            assert unit.links.get(USER) == Link.unlinked(USER)
        assert link_rows(harness) == 0

    def test_a_plain_read_does_not_wait_for_the_lock(self, harness):
        with harness.unit() as unit:
            unit.links.save(linked(unit.links.get(USER)))
        holder, reader = harness.begin(), harness.begin()

        with holder.links.locked(USER):
            started = time.perf_counter()
            link = reader.links.get(USER)
            waited = time.perf_counter() - started

        assert link.tokens == tokens("first")
        assert waited < 1
        holder.rollback()
        reader.rollback()

    def test_a_wait_longer_than_allowed_raises_link_busy(self, harness, database_url):
        # SQLite waits for its busy timeout, PostgreSQL for the lock timeout.
        engine = make_engine(database_url, busy_timeout_ms=200)
        factory = make_session_factory(engine)
        with harness.unit() as unit:
            unit.links.save(linked(unit.links.get(USER)))
        holder = harness.begin()

        with factory() as session:
            waiter = SqlLinkStore(
                session, harness.cipher, session_factory=factory, lock_timeout_ms=200
            )
            with holder.links.locked(USER):
                started = time.perf_counter()
                with pytest.raises(LinkBusyError), waiter.locked(USER):
                    pass
                waited = time.perf_counter() - started
            # The holder's lock is gone: the waiter gets it at once.
            with waiter.locked(USER) as held:
                assert held.link.tokens == tokens("first")
        holder.rollback()
        engine.dispose()

        assert 0.15 < waited < 3


def link_rows(harness) -> int:
    with harness.session_factory() as session:
        return session.scalar(select(func.count()).select_from(LinkRow))


class TestSqlPendingAuthorizations(PendingAuthorizationsContract):
    def test_recording_is_undone_with_its_unit_of_work(self, harness):
        with pytest.raises(Boom), harness.unit() as unit:
            unit.authorizations.record(pending())
            raise Boom
        with harness.unit() as unit, pytest.raises(StateUnknownError):
            unit.authorizations.take("state-1", NOW)


class TestSqlEnrollmentTickets(EnrollmentTicketsContract):
    pass


class TestSqlUsers(UserStoreContract):
    pass


@pytest.mark.parametrize(
    ("adapter", "port"),
    [
        (SqlLinkStore, ILinkStore),
        (SqlPendingAuthorizations, IPendingAuthorizations),
        (SqlEnrollmentTickets, IEnrollmentTickets),
        (SqlUserStore, IUserStore),
    ],
)
def test_adapters_implement_their_ports(adapter, port):
    assert verifyClass(port, adapter)


def test_store_objects_provide_their_ports(harness):
    unit = harness.begin()
    assert verifyObject(ILinkStore, unit.links)
    assert verifyObject(IPendingAuthorizations, unit.authorizations)
    assert verifyObject(IEnrollmentTickets, unit.tickets)
    assert verifyObject(IUserStore, unit.users)
