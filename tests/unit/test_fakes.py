"""The fakes honour the ports they stand for, so the unit tests mean something."""

import pytest
from zope.interface.verify import verifyObject

from kzlink.domain import errors
from kzlink.domain.model import Link
from kzlink.domain.ports import (
    IClock,
    IEnrollmentTickets,
    IKazaplan,
    ILinkStore,
    IPendingAuthorizations,
    IUserStore,
)
from tests.unit.fakes import (
    FakeClock,
    FakeEnrollmentTickets,
    FakeKazaplan,
    FakeLinkStore,
    FakePendingAuthorizations,
    FakeUserStore,
)


@pytest.mark.parametrize(
    ("interface", "make"),
    [
        (IKazaplan, lambda: FakeKazaplan(FakeClock())),
        (ILinkStore, FakeLinkStore),
        (IPendingAuthorizations, FakePendingAuthorizations),
        (IEnrollmentTickets, FakeEnrollmentTickets),
        (IUserStore, FakeUserStore),
        (IClock, FakeClock),
    ],
)
def test_fake_provides_its_port(interface, make):
    assert verifyObject(interface, make())


def test_link_store_refuses_a_write_based_on_a_stale_read():
    store = FakeLinkStore()
    first = store.get("alice")
    store.save(first)

    with pytest.raises(errors.LinkChangedError):
        store.save(first)
    assert store.get("alice").version == 1


def test_link_store_returns_an_unlinked_link_of_version_0_for_a_stranger():
    assert FakeLinkStore().get("nobody") == Link.unlinked("nobody")
