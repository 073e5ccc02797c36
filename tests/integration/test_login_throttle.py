"""The bound on failed sign-ins, in SQL (SQLite and PostgreSQL) and in memory:
the same rules, the window moving with the clock, and failures that outlive
the request that failed."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from kzlink.adapters.memory import MemoryLoginThrottle
from kzlink.adapters.sql.models import LoginFailureRow
from kzlink.adapters.sql.throttle import (
    ACCOUNT_LIMIT,
    ADDRESS_LIMIT,
    WINDOW,
    SqlLoginThrottle,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
KEY = b"k" * 32
EMAIL = "ann@example.com"
HOME = "198.51.100.7"


class SqlThrottles:
    """Each call in a request-like session of its own, committed afterwards,
    as the sign-in view's transaction would be."""

    def __init__(self, session_factory):
        self.session_factory = session_factory

    def __getattr__(self, name):
        def call(*args):
            with self.session_factory.begin() as session:
                throttle = SqlLoginThrottle(session, self.session_factory, KEY)
                return getattr(throttle, name)(*args)

        return call


def fail(throttle, times, email=EMAIL, address=HOME, now=NOW):
    for _ in range(times):
        throttle.failed(email, address, now)


class ThrottleContract:
    """What every store of failed sign-ins does; ``throttle`` is the store."""

    def test_an_account_is_refused_after_its_limit(self, throttle):
        fail(throttle, ACCOUNT_LIMIT - 1)
        assert not throttle.blocked(EMAIL, HOME, NOW)

        fail(throttle, 1)

        assert throttle.blocked(EMAIL, HOME, NOW)
        # From anywhere, and whatever the case of the address typed.
        assert throttle.blocked(" ANN@example.com", "203.0.113.9", NOW)
        assert not throttle.blocked("bob@example.com", "203.0.113.9", NOW)

    def test_an_address_is_refused_after_its_limit_across_accounts(self, throttle):
        for number in range(ADDRESS_LIMIT):
            fail(throttle, 1, email=f"user{number}@example.com")

        assert throttle.blocked("someone-new@example.com", HOME, NOW)
        assert not throttle.blocked("someone-new@example.com", "203.0.113.9", NOW)

    def test_failures_older_than_the_window_no_longer_count(self, throttle):
        fail(throttle, ACCOUNT_LIMIT)

        assert throttle.blocked(EMAIL, HOME, NOW + WINDOW - timedelta(seconds=1))
        assert not throttle.blocked(EMAIL, HOME, NOW + WINDOW)

    def test_a_success_forgets_only_that_accounts_failures(self, throttle):
        fail(throttle, ACCOUNT_LIMIT - 1)
        others = [f"other{number}@example.com" for number in range(ADDRESS_LIMIT)]
        for email in others[:10]:
            fail(throttle, 1, email=email)

        throttle.succeeded(EMAIL)

        fail(throttle, ACCOUNT_LIMIT - 1)
        assert not throttle.blocked(EMAIL, "203.0.113.9", NOW)
        # The address still counts the ten failures against other accounts.
        remaining = ADDRESS_LIMIT - 10 - (ACCOUNT_LIMIT - 1)
        for email in others[10 : 10 + remaining - 1]:
            fail(throttle, 1, email=email)
        assert not throttle.blocked("new@example.com", HOME, NOW)
        fail(throttle, 1, email=others[-1])
        assert throttle.blocked("new@example.com", HOME, NOW)


class TestSqlThrottle(ThrottleContract):
    @pytest.fixture
    def throttle(self, dbsession_factory):
        return SqlThrottles(dbsession_factory)


class TestMemoryThrottle(ThrottleContract):
    @pytest.fixture
    def throttle(self):
        return MemoryLoginThrottle(KEY)


def test_failures_are_kept_as_digests_and_purged(dbsession_factory):
    throttles = SqlThrottles(dbsession_factory)
    fail(throttles, 2)
    later = NOW + WINDOW + timedelta(minutes=1)
    fail(throttles, 1, email="bob@example.com", now=later)

    with dbsession_factory() as session:
        rows = session.execute(select(LoginFailureRow)).scalars().all()
    assert [row.failed_at for row in rows] == [later]
    assert "bob" not in rows[0].account and len(rows[0].account) == 64


def test_a_failure_stays_recorded_when_the_request_rolls_back(dbsession_factory):
    session = dbsession_factory()
    try:
        throttle = SqlLoginThrottle(session, dbsession_factory, KEY)
        assert not throttle.blocked(EMAIL, HOME, NOW)
        fail(throttle, ACCOUNT_LIMIT)
        session.rollback()
    finally:
        session.close()

    assert SqlThrottles(dbsession_factory).blocked(EMAIL, HOME, NOW)
