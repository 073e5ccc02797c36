"""Objects that hold a token or a secret keep it out of their repr (and logs)."""

from datetime import UTC, datetime, timedelta

import pytest

from kzlink.domain.authorization import EnrollmentTicket, PendingAuthorization
from kzlink.domain.model import Link, LinkState, Tokens
from kzlink.domain.usecases import (
    AccessGranted,
    CompleteAuthorization,
    RedeemTicket,
    Refresh,
    SignInWithTicket,
    TicketIssued,
)

NOW = datetime(2030, 1, 1, tzinfo=UTC)
ACCESS = "access-7f3a9c2e51d84b06"
REFRESH = "refresh-0b6e4d2a9f1c7358"
TOKENS = Tokens(ACCESS, REFRESH, NOW, scope="plans")
BROWSER_SESSION = "browser-5c1e8a0d"
PENDING = PendingAuthorization.start(
    "alice", BROWSER_SESSION, NOW, timedelta(minutes=10), True
)
TICKET = EnrollmentTicket.issue("alice", NOW, timedelta(minutes=1))
CODE = "code-9d2f41b7e6a03c85"

CASES = {
    "tokens": (TOKENS, [ACCESS, REFRESH]),
    "link": (Link("alice", LinkState.LINKED, 42, TOKENS), [ACCESS, REFRESH]),
    "access granted": (AccessGranted(ACCESS, NOW, refreshed=True), [ACCESS]),
    "pending authorization": (
        PENDING,
        [PENDING.state, PENDING.code_verifier, BROWSER_SESSION],
    ),
    "enrollment ticket": (TICKET, [TICKET.secret]),
    "ticket issued": (TicketIssued(TICKET.secret, NOW), [TICKET.secret]),
    "refresh command": (Refresh("alice", last_access_token=ACCESS), [ACCESS]),
    "complete authorization command": (
        CompleteAuthorization("alice", BROWSER_SESSION, PENDING.state, CODE),
        [BROWSER_SESSION, PENDING.state, CODE],
    ),
    "redeem ticket command": (RedeemTicket(TICKET.secret), [TICKET.secret]),
    "sign in with ticket command": (
        SignInWithTicket(TICKET.secret, "alice"),
        [TICKET.secret],
    ),
}


@pytest.mark.parametrize(("value", "secrets"), CASES.values(), ids=list(CASES))
def test_repr_hides_the_secrets(value, secrets):
    shown = repr(value) + str(value)

    assert all(secret not in shown for secret in secrets)


def test_repr_still_says_whose_it_is():
    assert "alice" in repr(PENDING)
    assert "alice" in repr(TICKET)
    assert "alice" in repr(Refresh("alice", last_access_token=ACCESS))
    assert "alice" in repr(SignInWithTicket(TICKET.secret, "alice"))
