"""The account overview: link state and, when Kazaplan answers, user and plans."""

import pytest

from kzlink.domain import errors
from kzlink.domain.model import Link, LinkState, Plan
from kzlink.domain.usecases import AccountOverview, ShowAccount, show_account

PLANS = (Plan("plan-2", "Kitchen"), Plan("plan-1", "Bathroom"))


def linked_with_plans(world, state=LinkState.LINKED):
    user = world.users.add("alice")
    account = world.kazaplan.add_user("alice@kazaplan.test", plans=PLANS)
    tokens = world.kazaplan.issue_tokens(account.id)
    world.links.save(Link("alice", LinkState.LINKED, account.id, tokens))
    if state is LinkState.EXPIRED:
        world.clock.advance(tokens.expires_at - world.clock.now())
    return user, account


@pytest.mark.parametrize("user_id", [None, "ghost"])
def test_signed_out_cannot_see_the_account(world, user_id):
    with pytest.raises(errors.NotSignedInError):
        show_account(ShowAccount(user_id), world.ports)


@pytest.mark.parametrize("state", [LinkState.UNLINKED, LinkState.BROKEN])
def test_without_a_working_link_only_the_state_is_shown(world, state):
    world.link(world.user("alice"), state)
    world.kazaplan.calls.clear()

    overview = show_account(ShowAccount("alice"), world.ports)

    assert overview == AccountOverview(user=world.users.get("alice"), state=state)
    assert world.kazaplan.calls == []


def test_linked_shows_the_kazaplan_user_and_plans(world):
    user, account = linked_with_plans(world)

    overview = show_account(ShowAccount("alice"), world.ports)

    assert overview.user == user
    assert overview.state is LinkState.LINKED
    assert overview.kazaplan_user == account
    assert overview.plans.plans == PLANS
    assert overview.plans.count == 2
    assert overview.problem is None
    assert world.kazaplan.calls == ["fetch_user", "list_plans"]


def test_expired_is_refreshed_before_asking_for_the_user(world):
    _, account = linked_with_plans(world, LinkState.EXPIRED)
    old = world.links.get("alice")

    overview = show_account(ShowAccount("alice"), world.ports)

    assert overview.kazaplan_user == account
    assert overview.state is LinkState.LINKED
    assert world.kazaplan.calls == ["refresh", "fetch_user", "list_plans"]
    assert world.links.get("alice").tokens != old.tokens


def test_expired_whose_refresh_is_refused_shows_broken(world):
    linked_with_plans(world, LinkState.EXPIRED)
    world.kazaplan.revoke_refresh_tokens()

    overview = show_account(ShowAccount("alice"), world.ports)

    assert overview.state is LinkState.BROKEN
    assert overview.kazaplan_user is None
    assert world.links.get("alice").state is LinkState.BROKEN


@pytest.mark.parametrize("state", [LinkState.LINKED, LinkState.EXPIRED])
def test_kazaplan_unavailable_is_shown_as_a_problem(world, state):
    linked_with_plans(world, state)
    before = world.links.snapshot()
    world.kazaplan.fault = errors.KazaplanUnavailableError()

    overview = show_account(ShowAccount("alice"), world.ports)

    assert isinstance(overview.problem, errors.KazaplanUnavailableError)
    assert overview.state is state
    assert overview.kazaplan_user is None
    assert world.links.snapshot() == before


def test_a_rejected_access_token_is_shown_as_a_problem(world):
    linked_with_plans(world)
    world.kazaplan.revoke_access_tokens()

    overview = show_account(ShowAccount("alice"), world.ports)

    assert isinstance(overview.problem, errors.AccessTokenRejectedError)
    assert overview.plans is None
