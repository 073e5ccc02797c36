"""The enroll use case: sign in, hand over a token, or start an authorization."""

import math
import re
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest

from kzlink.domain import errors
from kzlink.domain.authorization import code_challenge
from kzlink.domain.model import LinkState
from kzlink.domain.usecases import (
    AccessGranted,
    AuthorizationStarted,
    Enroll,
    SignInRequired,
    TokenHandedOver,
    enroll,
)
from tests.unit.conftest import BROWSER, REDIRECT_URI


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def test_signed_out_is_asked_to_sign_in(world):
    assert enroll(Enroll(None, BROWSER), world.ports) == SignInRequired()


def test_a_session_whose_user_is_gone_is_asked_to_sign_in(world):
    world.link("ghost", LinkState.LINKED)

    assert enroll(Enroll("ghost", BROWSER), world.ports) == SignInRequired()


def test_linked_gets_its_token_without_asking_kazaplan(world):
    link = world.link(world.user("alice"), LinkState.LINKED)
    world.kazaplan.calls.clear()

    outcome = enroll(Enroll("alice", BROWSER), world.ports)

    assert outcome.access == AccessGranted(
        link.tokens.access_token, link.tokens.expires_at, refreshed=False
    )
    assert world.kazaplan.calls == []


def test_the_hand_over_carries_a_ticket_of_the_same_shopper(world):
    world.link(world.user("alice"), LinkState.LINKED)

    outcome = enroll(Enroll("alice", BROWSER), world.ports)

    # The partner's page redeems it to sign in as the shopper of the token.
    assert isinstance(outcome, TokenHandedOver)
    [ticket] = world.tickets.issued
    assert outcome.ticket.secret == ticket.secret
    assert ticket.user_id == "alice"
    assert world.tickets.redeem(ticket.secret, world.clock.now()) == "alice"


def test_expired_gets_a_refreshed_token(world):
    old = world.link(world.user("alice"), LinkState.EXPIRED)

    outcome = enroll(Enroll("alice", BROWSER), world.ports)

    stored = world.links.get("alice")
    assert isinstance(outcome, TokenHandedOver)
    assert outcome.access.refreshed
    assert outcome.access.access_token == stored.tokens.access_token
    assert outcome.access.access_token != old.tokens.access_token
    assert world.kazaplan.server_calls == ["refresh"]


def test_expired_whose_refresh_is_refused_breaks_and_authorizes_again(world):
    world.link(world.user("alice"), LinkState.EXPIRED)
    world.kazaplan.revoke_refresh_tokens()

    outcome = enroll(Enroll("alice", BROWSER), world.ports)

    assert isinstance(outcome, AuthorizationStarted)
    assert world.links.get("alice").state is LinkState.BROKEN
    assert len(world.authorizations.recorded) == 1


def test_expired_when_kazaplan_is_unavailable_raises_and_keeps_the_link(world):
    world.link(world.user("alice"), LinkState.EXPIRED)
    before = world.links.snapshot()
    world.kazaplan.fault = errors.KazaplanUnavailableError()

    with pytest.raises(errors.KazaplanUnavailableError):
        enroll(Enroll("alice", BROWSER), world.ports)
    assert world.links.snapshot() == before


@pytest.mark.parametrize("state", [LinkState.UNLINKED, LinkState.BROKEN])
def test_unlinked_or_broken_starts_an_authorization_for_that_user(world, state):
    world.link(world.user("alice"), state)
    world.kazaplan.calls.clear()

    outcome = enroll(Enroll("alice", BROWSER), world.ports)

    [pending] = world.authorizations.recorded
    assert isinstance(outcome, AuthorizationStarted)
    assert pending.user_id == "alice"
    assert pending.created_at == world.clock.now()
    assert pending.expires_at == world.clock.now() + world.policy.authorization_ttl
    assert query_of(outcome.authorize_url)["state"] == pending.state
    assert query_of(outcome.authorize_url)["email"] == "alice@partner.test"
    assert world.kazaplan.server_calls == []


def test_the_state_carries_at_least_128_bits_of_randomness(world):
    world.user("alice")

    states = {
        query_of(enroll(Enroll("alice", BROWSER), world.ports).authorize_url)["state"]
        for _ in range(20)
    }

    assert len(states) == 20
    # URL-safe base64: six bits per character.
    assert all(len(state) * math.log2(64) >= 128 for state in states)


def test_without_pkce_no_challenge_is_sent(world):
    world.user("alice")

    outcome = enroll(Enroll("alice", BROWSER), world.ports)

    [pending] = world.authorizations.recorded
    assert pending.code_verifier is None
    assert "code_challenge" not in query_of(outcome.authorize_url)


def test_with_pkce_the_challenge_matches_the_recorded_verifier(world):
    world.policy = replace(world.policy, use_pkce=True)
    world.user("alice")

    outcome = enroll(Enroll("alice", BROWSER), world.ports)

    [pending] = world.authorizations.recorded
    sent = query_of(outcome.authorize_url)["code_challenge"]
    assert re.fullmatch(r"[A-Za-z0-9._~-]{43,128}", pending.code_verifier)
    assert sent == code_challenge(pending.code_verifier)
    assert sent != pending.code_verifier


def test_code_challenge_is_the_s256_of_rfc_7636():
    # The example of RFC 7636, appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_authorization_goes_back_to_the_configured_redirect_uri(world):
    world.user("alice")

    enroll(Enroll("alice", BROWSER), world.ports)

    assert world.kazaplan.redirect_uris == [REDIRECT_URI]
