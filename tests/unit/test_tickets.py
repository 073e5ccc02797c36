"""Enrollment tickets: carry a signed-in user between the partner's page and the
enroll frame, once."""

import pytest

from kzlink.domain import errors
from kzlink.domain.usecases import (
    IssueTicket,
    RedeemTicket,
    SignInWithTicket,
    TicketIssued,
    TicketRedeemed,
    issue_ticket,
    redeem_ticket,
    sign_in_with_ticket,
)


def issued(world, user_id: str = "alice") -> TicketIssued:
    world.user(user_id)
    return issue_ticket(IssueTicket(user_id), world.ports)


@pytest.mark.parametrize("user_id", [None, "ghost"])
def test_only_a_signed_in_user_gets_a_ticket(world, user_id):
    with pytest.raises(errors.NotSignedInError):
        issue_ticket(IssueTicket(user_id), world.ports)
    assert world.tickets.issued == []


def test_a_ticket_is_issued_for_the_user_with_a_short_life(world):
    outcome = issued(world)

    [ticket] = world.tickets.issued
    assert ticket.user_id == "alice"
    assert ticket.secret == outcome.secret
    assert outcome.expires_at == world.clock.now() + world.policy.ticket_ttl


def test_every_ticket_has_its_own_long_secret(world):
    secrets = {issued(world).secret for _ in range(20)}

    assert len(secrets) == 20
    # URL-safe base64: six bits per character, at least 128 bits in all.
    assert all(len(secret) * 6 >= 128 for secret in secrets)


def test_redeeming_a_ticket_names_its_user(world):
    outcome = redeem_ticket(RedeemTicket(issued(world).secret), world.ports)

    assert outcome == TicketRedeemed(user=world.users.get("alice"))


@pytest.mark.parametrize("secret", [None, "", "never-issued"])
def test_a_missing_or_unknown_ticket_is_invalid(world, secret):
    with pytest.raises(errors.TicketInvalidError):
        redeem_ticket(RedeemTicket(secret), world.ports)


def test_a_ticket_works_once(world):
    secret = issued(world).secret
    redeem_ticket(RedeemTicket(secret), world.ports)

    with pytest.raises(errors.TicketInvalidError):
        redeem_ticket(RedeemTicket(secret), world.ports)


def test_an_expired_ticket_is_invalid(world):
    secret = issued(world).secret
    world.clock.advance(world.policy.ticket_ttl)

    with pytest.raises(errors.TicketInvalidError):
        redeem_ticket(RedeemTicket(secret), world.ports)


def test_a_ticket_of_a_user_gone_since_is_invalid(world):
    secret = issued(world).secret
    del world.users.users["alice"]

    with pytest.raises(errors.TicketInvalidError):
        redeem_ticket(RedeemTicket(secret), world.ports)


@pytest.mark.parametrize("signed_in", [None, "alice", "deleted-since"])
def test_a_ticket_signs_in_a_page_with_no_other_user(world, signed_in):
    secret = issued(world).secret

    outcome = sign_in_with_ticket(SignInWithTicket(secret, signed_in), world.ports)

    assert outcome == TicketRedeemed(user=world.users.get("alice"))


def test_a_page_signed_in_as_another_user_keeps_it_and_the_ticket_is_spent(world):
    secret = issued(world).secret
    world.user("bob")

    with pytest.raises(errors.SignedInAsAnotherUserError):
        sign_in_with_ticket(SignInWithTicket(secret, "bob"), world.ports)

    with pytest.raises(errors.TicketInvalidError):
        sign_in_with_ticket(SignInWithTicket(secret, None), world.ports)


def test_signing_in_with_a_bad_ticket_is_invalid_whoever_is_signed_in(world):
    world.user("bob")

    with pytest.raises(errors.TicketInvalidError):
        sign_in_with_ticket(SignInWithTicket("never-issued", "bob"), world.ports)
