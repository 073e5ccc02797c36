"""The in-memory stores show the behaviour of the SQL ones (the same contract
tests), and the system clock."""

from contextlib import contextmanager
from datetime import UTC, timedelta

import pytest
from zope.interface.verify import verifyObject

from kzlink.adapters.clock import SystemClock
from kzlink.adapters.memory import (
    MemoryEnrollmentTickets,
    MemoryLinkStore,
    MemoryPendingAuthorizations,
    MemoryUserStore,
)
from kzlink.domain.ports import (
    IClock,
    IEnrollmentTickets,
    ILinkStore,
    IPendingAuthorizations,
    IUserStore,
)
from tests.integration.test_sql_stores import (
    EnrollmentTicketsContract,
    LinkStoreContract,
    PendingAuthorizationsContract,
    Unit,
    UserStoreContract,
    cheap_passwords,
)


class MemoryHarness:
    """Units of work over one set of memory stores: nothing to commit, and
    nothing undone on failure."""

    def __init__(self):
        self.links = MemoryLinkStore()
        self.authorizations = MemoryPendingAuthorizations()
        self.tickets = MemoryEnrollmentTickets()
        self.users = MemoryUserStore(cheap_passwords())

    def begin(self, lock: bool = True) -> Unit:
        return Unit(
            links=self.links if lock else self.links.unlocked(),
            authorizations=self.authorizations,
            tickets=self.tickets,
            users=self.users,
            commit=lambda: None,
            rollback=lambda: None,
        )

    @contextmanager
    def unit(self, lock: bool = True):
        yield self.begin(lock)


@pytest.fixture
def harness():
    return MemoryHarness()


class TestMemoryLinks(LinkStoreContract):
    pass


class TestMemoryPendingAuthorizations(PendingAuthorizationsContract):
    pass


class TestMemoryEnrollmentTickets(EnrollmentTicketsContract):
    pass


class TestMemoryUsers(UserStoreContract):
    pass


def test_memory_stores_provide_their_ports(harness):
    assert verifyObject(ILinkStore, harness.links)
    assert verifyObject(ILinkStore, harness.links.unlocked())
    assert verifyObject(IPendingAuthorizations, harness.authorizations)
    assert verifyObject(IEnrollmentTickets, harness.tickets)
    assert verifyObject(IUserStore, harness.users)


def test_system_clock_tells_aware_utc_time():
    clock = SystemClock()
    assert verifyObject(IClock, clock)
    now = clock.now()
    assert now.tzinfo is UTC
    assert timedelta(0) <= clock.now() - now < timedelta(minutes=1)
