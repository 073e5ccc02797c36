"""The OAuth callback's use case: check the state, exchange the code, link."""

from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from kzlink.domain import errors
from kzlink.domain.model import Link, LinkState
from kzlink.domain.usecases import (
    CompleteAuthorization,
    Enroll,
    LinkCompleted,
    complete_authorization,
    enroll,
)
from tests.unit.conftest import BROWSER, REDIRECT_URI


def start(world, user_id: str = "alice", browser_session: str = BROWSER) -> str:
    """Send ``user_id`` to Kazaplan; return the state the callback will carry."""
    outcome = enroll(Enroll(user_id, browser_session), world.ports)
    query = parse_qs(urlsplit(outcome.authorize_url).query)
    return query["state"][0]


@pytest.fixture
def flow(world):
    """Alice, whose link is broken, on her way to Kazaplan with a code waiting."""
    world.link(world.user("alice"), LinkState.BROKEN)
    world.account = world.kazaplan.add_user("alice@kazaplan.test")
    world.state = start(world)
    world.code = world.kazaplan.grant_code(world.account.id)
    return world


def callback(flow, **changes) -> CompleteAuthorization:
    command = CompleteAuthorization("alice", BROWSER, flow.state, code=flow.code)
    return replace(command, **changes)


def assert_fails_and_keeps_links(flow, command, error):
    before = flow.links.snapshot()

    with pytest.raises(error):
        complete_authorization(command, flow.ports)
    assert flow.links.snapshot() == before


def test_success_links_the_kazaplan_account(flow):
    outcome = complete_authorization(callback(flow), flow.ports)

    stored = flow.links.get("alice")
    assert isinstance(outcome, LinkCompleted)
    assert outcome.kazaplan_user == flow.account
    assert outcome.link == stored
    assert stored.state is LinkState.LINKED
    assert stored.kazaplan_user_id == flow.account.id
    assert stored.tokens is not None
    assert flow.kazaplan.server_calls == ["exchange_code", "fetch_user"]


def test_the_code_is_exchanged_for_the_redirect_uri_it_was_sent_to(flow):
    complete_authorization(callback(flow), flow.ports)

    [sent_to, exchanged_for] = flow.kazaplan.redirect_uris
    assert exchanged_for == sent_to == REDIRECT_URI


def test_relinking_the_account_already_held_is_allowed(world):
    old = world.link(world.user("alice"), LinkState.BROKEN)
    code = world.kazaplan.grant_code(old.kazaplan_user_id)
    state = start(world)

    complete_authorization(
        CompleteAuthorization("alice", BROWSER, state, code), world.ports
    )

    assert world.links.get("alice").state is LinkState.LINKED


def test_with_pkce_the_recorded_verifier_is_sent_with_the_code(world):
    world.policy = replace(world.policy, use_pkce=True)
    world.user("alice")
    account = world.kazaplan.add_user("alice@kazaplan.test")
    state = start(world)
    [pending] = world.authorizations.recorded
    code = world.kazaplan.grant_code(account.id, challenge=pending.code_challenge)

    complete_authorization(
        CompleteAuthorization("alice", BROWSER, state, code), world.ports
    )

    assert world.links.get("alice").state is LinkState.LINKED


@pytest.mark.parametrize("state", [None, ""])
def test_state_missing(flow, state):
    assert_fails_and_keeps_links(
        flow, callback(flow, state=state), errors.StateMissingError
    )


def test_state_unknown(flow):
    assert_fails_and_keeps_links(
        flow, callback(flow, state="never-issued"), errors.StateUnknownError
    )


def test_state_expired(flow):
    flow.clock.advance(flow.policy.authorization_ttl)

    assert_fails_and_keeps_links(flow, callback(flow), errors.StateExpiredError)


def test_state_still_valid_just_before_its_expiry(flow):
    flow.clock.advance(flow.policy.authorization_ttl - timedelta(seconds=1))

    assert isinstance(complete_authorization(callback(flow), flow.ports), LinkCompleted)


def test_state_used_twice(flow):
    complete_authorization(callback(flow), flow.ports)
    other_code = flow.kazaplan.grant_code(flow.account.id)

    assert_fails_and_keeps_links(
        flow, callback(flow, code=other_code), errors.StateUsedError
    )


def test_state_of_another_user(flow):
    flow.user("bob")

    assert_fails_and_keeps_links(
        flow, callback(flow, user_id="bob"), errors.StateMismatchError
    )


@pytest.mark.parametrize("browser_session", ["browser-session-2", ""])
def test_state_started_in_another_browser_session(flow, browser_session):
    # The same partner user, signed in on another browser (or a fresh session).
    command = callback(flow, browser_session=browser_session)

    assert_fails_and_keeps_links(flow, command, errors.StateMismatchError)


def test_authorizations_in_flight_in_two_browser_sessions_each_complete(world):
    world.user("alice")
    account = world.kazaplan.add_user("alice@kazaplan.test")
    first = start(world, browser_session="laptop")
    second = start(world, browser_session="phone")

    for state, browser_session in ((second, "phone"), (first, "laptop")):
        code = world.kazaplan.grant_code(account.id)
        command = CompleteAuthorization("alice", browser_session, state, code)
        assert isinstance(complete_authorization(command, world.ports), LinkCompleted)


def test_signed_out_before_the_callback(flow):
    assert_fails_and_keeps_links(
        flow, callback(flow, user_id=None), errors.NotSignedInError
    )


def test_access_denied_is_a_refusal(flow):
    command = callback(flow, code=None, error="access_denied")

    assert_fails_and_keeps_links(flow, command, errors.AuthorizationRefusedError)


def test_any_other_error_is_a_failed_authorization(flow):
    command = callback(flow, code=None, error="server_error")

    assert_fails_and_keeps_links(flow, command, errors.AuthorizationFailedError)


@pytest.mark.parametrize("code", [None, ""])
def test_code_missing(flow, code):
    assert_fails_and_keeps_links(
        flow, callback(flow, code=code), errors.CodeMissingError
    )


def test_code_refused(flow):
    assert_fails_and_keeps_links(
        flow, callback(flow, code="not-a-code"), errors.CodeRefusedError
    )


def test_code_refused_when_the_pkce_verifier_does_not_match(world):
    world.policy = replace(world.policy, use_pkce=True)
    world.user("alice")
    account = world.kazaplan.add_user("alice@kazaplan.test")
    state = start(world)
    code = world.kazaplan.grant_code(account.id, challenge="another-challenge")

    assert_fails_and_keeps_links(
        world,
        CompleteAuthorization("alice", BROWSER, state, code),
        errors.CodeRefusedError,
    )


def test_kazaplan_unavailable(flow):
    flow.kazaplan.fault = errors.KazaplanUnavailableError()

    assert_fails_and_keeps_links(flow, callback(flow), errors.KazaplanUnavailableError)


def test_account_linked_to_another_user(flow):
    bob_tokens = flow.kazaplan.issue_tokens(flow.account.id)
    flow.links.save(Link("bob", LinkState.LINKED, flow.account.id, bob_tokens))

    assert_fails_and_keeps_links(
        flow, callback(flow), errors.AccountLinkedElsewhereError
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"user_id": None},
        {"user_id": "bob"},
        {"code": None, "error": "access_denied"},
        {"code": None},
        {"code": "not-a-code"},
    ],
)
def test_a_failed_callback_spends_its_state(flow, changes):
    flow.user("bob")
    with pytest.raises(errors.Error):
        complete_authorization(callback(flow, **changes), flow.ports)

    with pytest.raises(errors.StateUsedError):
        complete_authorization(callback(flow), flow.ports)
