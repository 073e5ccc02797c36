"""The unlink use case: forget the Kazaplan account and its tokens."""

import pytest

from kzlink.domain import errors
from kzlink.domain.model import Link, LinkState
from kzlink.domain.usecases import Unlink, UnlinkDone, unlink


def test_signed_out_cannot_unlink(world):
    with pytest.raises(errors.NotSignedInError):
        unlink(Unlink(None), world.ports)


@pytest.mark.parametrize(
    "state", [LinkState.LINKED, LinkState.EXPIRED, LinkState.BROKEN]
)
def test_unlinking_forgets_the_account_and_its_tokens(world, state):
    link = world.link(world.user("alice"), state)

    outcome = unlink(Unlink("alice"), world.ports)

    stored = world.links.get("alice")
    assert outcome == UnlinkDone(was_linked=True)
    assert stored.state is LinkState.UNLINKED
    assert stored.tokens is None
    assert stored.kazaplan_user_id is None
    assert world.links.find_by_kazaplan_user(link.kazaplan_user_id) is None


def test_unlinking_asks_nothing_of_kazaplan(world):
    world.link(world.user("alice"), LinkState.LINKED)
    world.kazaplan.calls.clear()

    unlink(Unlink("alice"), world.ports)

    assert world.kazaplan.calls == []


def test_unlinking_an_unlinked_user_is_harmless(world):
    world.user("alice")

    assert unlink(Unlink("alice"), world.ports) == UnlinkDone(was_linked=False)
    assert world.links.saves == []


def test_unlinking_twice_reports_the_second_as_not_linked(world):
    world.link(world.user("alice"), LinkState.LINKED)
    unlink(Unlink("alice"), world.ports)

    assert unlink(Unlink("alice"), world.ports) == UnlinkDone(was_linked=False)
    assert world.links.get("alice") == Link(
        "alice", LinkState.UNLINKED, version=world.links.get("alice").version
    )
