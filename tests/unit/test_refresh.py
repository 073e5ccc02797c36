"""The refresh use case: a working access token, asking Kazaplan only when needed."""

import pytest

from kzlink.domain import errors
from kzlink.domain.model import LinkState, TokenRefreshed, Unlinked, transition
from kzlink.domain.usecases import AccessGranted, LinkBroken, Refresh, refresh


def granted(link, refreshed=False) -> AccessGranted:
    return AccessGranted(link.tokens.access_token, link.tokens.expires_at, refreshed)


def linked(world, state=LinkState.LINKED):
    link = world.link(world.user("alice"), state)
    world.kazaplan.calls.clear()
    return link


def test_signed_out_cannot_refresh(world):
    with pytest.raises(errors.NotSignedInError):
        refresh(Refresh(None), world.ports)


def test_unlinked_has_nothing_to_refresh(world):
    linked(world, LinkState.UNLINKED)

    with pytest.raises(errors.NotLinkedError):
        refresh(Refresh("alice"), world.ports)


def test_broken_is_reported_without_asking_kazaplan(world):
    linked(world, LinkState.BROKEN)

    assert refresh(Refresh("alice"), world.ports) == LinkBroken()
    assert world.kazaplan.calls == []


def test_fresh_token_is_returned_without_asking_kazaplan(world):
    link = linked(world)

    assert refresh(Refresh("alice"), world.ports) == granted(link)
    assert world.kazaplan.calls == []


def test_expired_token_is_refreshed_once_and_rotated_tokens_are_stored(world):
    old = linked(world, LinkState.EXPIRED)

    outcome = refresh(Refresh("alice"), world.ports)

    stored = world.links.get("alice")
    assert outcome == granted(stored, refreshed=True)
    assert world.kazaplan.calls == ["refresh"]
    assert stored.state is LinkState.LINKED
    assert stored.version == old.version + 1
    assert stored.tokens.access_token != old.tokens.access_token
    assert stored.tokens.refresh_token != old.tokens.refresh_token
    assert stored.kazaplan_user_id == old.kazaplan_user_id


def test_a_stored_token_newer_than_the_widgets_is_returned_without_a_call(world):
    link = linked(world)

    outcome = refresh(Refresh("alice", last_access_token="older-token"), world.ports)

    assert outcome == granted(link)
    assert world.kazaplan.calls == []


def test_the_widgets_own_token_is_refreshed_even_before_its_expiry(world):
    link = linked(world)

    command = Refresh("alice", last_access_token=link.tokens.access_token)
    outcome = refresh(command, world.ports)

    assert outcome.refreshed
    assert outcome.access_token != link.tokens.access_token
    assert world.kazaplan.calls == ["refresh"]


def test_a_stored_token_that_expired_is_refreshed_whatever_the_widget_held(world):
    old = linked(world, LinkState.EXPIRED)

    outcome = refresh(Refresh("alice", last_access_token="older-token"), world.ports)

    assert outcome.refreshed
    assert outcome.access_token != old.tokens.access_token


@pytest.mark.parametrize("state", [LinkState.LINKED, LinkState.EXPIRED])
def test_a_refused_refresh_breaks_the_link(world, state):
    link = linked(world, state)
    world.kazaplan.revoke_refresh_tokens()

    command = Refresh("alice", last_access_token=link.tokens.access_token)
    outcome = refresh(command, world.ports)

    stored = world.links.get("alice")
    assert outcome == LinkBroken()
    assert stored.state is LinkState.BROKEN
    assert stored.tokens is None
    assert stored.kazaplan_user_id == link.kazaplan_user_id


def test_a_refusal_after_another_writer_rotated_returns_its_token(world):
    old = linked(world, LinkState.EXPIRED)

    # A writer that does not wait for this request's lock: another process,
    # when the lock is off or the store cannot lock across processes.
    def another_writer_refreshes_first():
        world.kazaplan.before_refresh = None
        tokens = world.kazaplan.refresh(old.tokens.refresh_token)
        world.links.elsewhere().save(transition(old, TokenRefreshed(tokens)))

    world.kazaplan.before_refresh = another_writer_refreshes_first

    outcome = refresh(Refresh("alice"), world.ports)

    stored = world.links.get("alice")
    assert stored.state is LinkState.LINKED
    assert outcome == granted(stored)
    assert stored.tokens.access_token != old.tokens.access_token


@pytest.mark.parametrize(
    "fault", [errors.KazaplanUnavailableError(), errors.ClientRejectedError()]
)
def test_a_kazaplan_failure_is_raised_and_the_link_kept(world, fault):
    linked(world, LinkState.EXPIRED)
    before = world.links.snapshot()
    world.kazaplan.fault = fault

    with pytest.raises(type(fault)):
        refresh(Refresh("alice"), world.ports)
    assert world.links.snapshot() == before


@pytest.mark.parametrize("state", [LinkState.LINKED, LinkState.BROKEN])
def test_a_link_needing_no_refresh_is_answered_without_the_lock(world, state):
    linked(world, state)

    refresh(Refresh("alice", last_access_token="older-token"), world.ports)

    assert world.links.locks == []


def test_an_unlinked_shopper_takes_no_lock(world):
    linked(world, LinkState.UNLINKED)

    with pytest.raises(errors.NotLinkedError):
        refresh(Refresh("alice"), world.ports)
    assert world.links.locks == []


def test_a_refresh_takes_the_lock_and_saves_through_it(world):
    old = linked(world, LinkState.EXPIRED)

    refresh(Refresh("alice"), world.ports)

    assert world.links.locks == ["alice"]
    # The fake refuses a save around the lock: this one went through it.
    assert world.links.saves[-1].version == old.version + 1


def refreshed_elsewhere_while_waiting(world, old):
    """Another process refreshes the link while this request waits for the
    lock; return the link it stores."""
    stored = {}

    def another_process_refreshes():
        world.links.before_lock = None
        tokens = world.kazaplan.refresh(old.tokens.refresh_token)
        link = transition(world.links.get("alice"), TokenRefreshed(tokens))
        stored["link"] = world.links.elsewhere().save(link)

    world.links.before_lock = another_process_refreshes
    return stored


def test_a_token_refreshed_while_waiting_for_the_lock_is_returned(world):
    old = linked(world, LinkState.EXPIRED)
    stored = refreshed_elsewhere_while_waiting(world, old)

    outcome = refresh(Refresh("alice"), world.ports)

    assert outcome == granted(stored["link"])
    assert world.links.locks == ["alice"]
    # The other process's call only: this request did not ask Kazaplan.
    assert world.kazaplan.calls == ["refresh"]
    assert world.links.get("alice") == stored["link"]


def test_the_widgets_token_replaced_while_waiting_is_not_refreshed_again(world):
    old = linked(world)
    stored = refreshed_elsewhere_while_waiting(world, old)

    command = Refresh("alice", last_access_token=old.tokens.access_token)
    outcome = refresh(command, world.ports)

    assert outcome == granted(stored["link"])
    assert outcome.access_token != old.tokens.access_token
    assert world.kazaplan.calls == ["refresh"]


def test_a_link_unlinked_while_waiting_for_the_lock_is_not_refreshed(world):
    linked(world, LinkState.EXPIRED)

    def another_request_unlinks():
        world.links.before_lock = None
        world.links.save(transition(world.links.get("alice"), Unlinked()))

    world.links.before_lock = another_request_unlinks

    with pytest.raises(errors.NotLinkedError):
        refresh(Refresh("alice"), world.ports)
    assert world.kazaplan.calls == []
