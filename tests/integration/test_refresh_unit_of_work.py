"""The refresh use case on SQL stores and the simulator: its lock is a short
unit of work of its own, apart from the request's transaction.

Each "request" here is a session joined to a transaction manager, as
pyramid_tm gives one to every request. The rotated tokens must outlive that
transaction, a fresh token must be answered without the lock, and a request
must not wait for another's refresh longer than a Kazaplan call.
"""

import threading
import time
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
import transaction
from sqlalchemy import func, select

from kzlink.adapters.clock import SystemClock
from kzlink.adapters.kazaplan_http import HttpKazaplan
from kzlink.adapters.sql import SqlLinkStore, session_in_transaction
from kzlink.adapters.sql.engine import make_engine, make_session_factory
from kzlink.adapters.sql.models import LinkRow
from kzlink.domain import errors
from kzlink.domain.model import (
    AuthorizationCompleted,
    Link,
    LinkState,
    Tokens,
    transition,
)
from kzlink.domain.usecases import AccessGranted, Policy, Ports, Refresh, refresh
from kzlink.settings import DOCUMENTED_SCOPE
from tests.fixtures.simulator import TEST_CLIENT

EMAIL = "shopper@example.com"
USER = "partner-user-1"
# Long enough to act while a refresh waits on Kazaplan, short enough to keep
# the tests quick.
SLOW_SECONDS = 2.0


@dataclass
class Request:
    """One request's ports, its transaction and how it ends."""

    ports: Ports
    manager: transaction.TransactionManager

    def commit(self):
        self.manager.commit()

    def abort(self):
        self.manager.abort()


@pytest.fixture
def partner(dbsession_factory, cipher, kazaplan):
    return Partner(dbsession_factory, cipher, kazaplan)


class Partner:
    """The partner's database and its way to Kazaplan (the simulator)."""

    def __init__(self, session_factory, cipher, kazaplan, lock_timeout_ms=5000):
        self.session_factory = session_factory
        self.cipher = cipher
        self.kazaplan = kazaplan
        self.lock_timeout_ms = lock_timeout_ms
        self.client = HttpKazaplan(
            authorize_endpoint=kazaplan.authorize_url,
            api_url=kazaplan.api_url,
            client_id=TEST_CLIENT.client_id,
            client_secret=TEST_CLIENT.client_secret,
            scope=DOCUMENTED_SCOPE,
            timeout=(1.0, SLOW_SECONDS + 5),
        )
        self._managers = []

    def request(self) -> Request:
        manager = transaction.TransactionManager(explicit=True)
        manager.begin()
        self._managers.append(manager)
        dbsession = session_in_transaction(self.session_factory, manager)
        links = SqlLinkStore(
            dbsession,
            self.cipher,
            session_factory=self.session_factory,
            lock_timeout_ms=self.lock_timeout_ms,
        )
        ports = Ports(
            kazaplan=self.client,
            links=links,
            authorizations=None,
            users=None,
            clock=SystemClock(),
            policy=Policy(redirect_uri=TEST_CLIENT.redirect_uris[0]),
        )
        return Request(ports, manager)

    def link(self, expired=False) -> Link:
        """Link USER as the callback would; its access token already expired
        when ``expired``."""
        answer = self.kazaplan.obtain_tokens(EMAIL)
        lifetime = timedelta(seconds=answer["expires_in"])
        tokens = Tokens(
            access_token=answer["access_token"],
            refresh_token=answer["refresh_token"],
            expires_at=datetime.now(UTC) + lifetime,
            scope=answer["scope"],
        )
        if expired:
            tokens = replace(tokens, expires_at=datetime.now(UTC) - timedelta(1))
        account = self.kazaplan.sim.user_by_email(EMAIL).id
        completed = AuthorizationCompleted(account, tokens)
        with self.session_factory.begin() as session:
            store = SqlLinkStore(session, self.cipher)
            return store.save(transition(Link.unlinked(USER), completed))

    def stored(self) -> Link:
        with self.session_factory() as session:
            return SqlLinkStore(session, self.cipher).get(USER)

    def link_rows(self) -> int:
        with self.session_factory() as session:
            return session.scalar(select(func.count()).select_from(LinkRow))

    def close(self):
        for manager in self._managers:
            with suppress(transaction.interfaces.NoTransaction):
                manager.abort()


@pytest.fixture(autouse=True)
def _end_requests(partner):
    yield
    partner.close()


def test_rotated_tokens_outlive_a_request_that_fails_afterwards(partner):
    old = partner.link(expired=True)
    request = partner.request()

    outcome = refresh(Refresh(USER), request.ports)
    request.abort()

    stored = partner.stored()
    assert outcome.refreshed
    assert stored.state is LinkState.LINKED
    assert stored.tokens.access_token == outcome.access_token
    assert stored.tokens.refresh_token != old.tokens.refresh_token
    assert stored.version == old.version + 1
    # The refresh token Kazaplan now holds is the one stored: the link works.
    again = partner.client.refresh(stored.tokens.refresh_token)
    assert again.access_token != stored.tokens.access_token


def test_a_fresh_token_is_answered_without_writing(partner):
    link = partner.link()
    request = partner.request()

    outcome = refresh(Refresh(USER, "an-older-token"), request.ports)
    request.abort()

    assert outcome == AccessGranted(link.tokens.access_token, link.tokens.expires_at)
    assert partner.stored() == link
    assert partner.kazaplan.sim.grant_count("refresh_token") == 0


def test_an_unlinked_shopper_leaves_no_row(partner):
    request = partner.request()

    with pytest.raises(errors.NotLinkedError):
        refresh(Refresh(USER), request.ports)
    request.commit()

    assert partner.link_rows() == 0


def test_a_read_is_not_blocked_while_a_refresh_waits_on_kazaplan(partner):
    link = partner.link()
    partner.kazaplan.sim.fault = "slow"
    partner.kazaplan.sim.slow_seconds = SLOW_SECONDS
    outcomes = {}

    def widget_token_refused():
        # The widget's token was refused: this request refreshes, slowly.
        request = partner.request()
        command = Refresh(USER, last_access_token=link.tokens.access_token)
        outcomes["refresher"] = refresh(command, request.ports)
        request.commit()

    refresher = threading.Thread(target=widget_token_refused, daemon=True)
    refresher.start()
    wait_until_locked(partner)

    started = time.perf_counter()
    request = partner.request()
    answered = refresh(Refresh(USER), request.ports)
    request.commit()
    waited = time.perf_counter() - started
    still_refreshing = refresher.is_alive()
    refresher.join(timeout=SLOW_SECONDS + 10)

    assert still_refreshing
    assert waited < SLOW_SECONDS / 2
    assert answered == AccessGranted(link.tokens.access_token, link.tokens.expires_at)
    assert outcomes["refresher"].refreshed
    assert partner.stored().tokens.access_token == outcomes["refresher"].access_token


def test_a_refresh_waiting_too_long_for_the_lock_is_told_to_retry(
    partner, database_url, cipher, kazaplan
):
    before = partner.link(expired=True)
    # SQLite waits for its busy timeout, PostgreSQL for the lock timeout.
    engine = make_engine(database_url, busy_timeout_ms=200)
    impatient = Partner(make_session_factory(engine), cipher, kazaplan, 200)
    holder = partner.request().ports.links

    try:
        with holder.locked(USER):
            request = impatient.request()
            started = time.perf_counter()
            with pytest.raises(errors.LinkBusyError):
                refresh(Refresh(USER), request.ports)
            waited = time.perf_counter() - started
            request.abort()
    finally:
        impatient.close()
        engine.dispose()

    assert waited < 3
    assert kazaplan.sim.grant_count("refresh_token") == 0
    assert partner.stored() == before


def wait_until_locked(partner, timeout=SLOW_SECONDS / 2):
    """Return once another refresh holds USER's lock, as a request that cannot
    get it in 50 ms finds out."""
    engine = make_engine(partner.session_factory.kw["bind"].url, busy_timeout_ms=50)
    probe = SqlLinkStore(
        make_session_factory(engine)(),
        partner.cipher,
        session_factory=make_session_factory(engine),
        lock_timeout_ms=50,
    )
    deadline = time.perf_counter() + timeout
    try:
        while time.perf_counter() < deadline:
            try:
                with probe.locked(USER):
                    pass
            except errors.LinkBusyError:
                return
            time.sleep(0.02)
    finally:
        probe.dbsession.close()
        engine.dispose()
    pytest.fail("the refresh never took the lock")
