"""A world of fakes for the use-case tests: one partner site, one Kazaplan."""

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from kzlink.domain.model import (
    AuthorizationCompleted,
    Link,
    LinkState,
    RefreshRefused,
    transition,
)
from kzlink.domain.usecases import Policy, Ports
from tests.unit.fakes import (
    FakeClock,
    FakeEnrollmentTickets,
    FakeKazaplan,
    FakeLinkStore,
    FakePendingAuthorizations,
    FakeUserStore,
)

REDIRECT_URI = "https://partner.test/kazaplan/oauth/callback"
# The browser session the shopper of these tests uses, unless a test says.
BROWSER = "browser-session-1"
TOKEN_LIFETIME = timedelta(hours=1)
MARGIN = timedelta(minutes=5)


@dataclass
class World:
    policy: Policy = field(
        default_factory=lambda: Policy(redirect_uri=REDIRECT_URI, expiry_margin=MARGIN)
    )
    clock: FakeClock = field(default_factory=FakeClock)
    links: FakeLinkStore = field(default_factory=FakeLinkStore)
    authorizations: FakePendingAuthorizations = field(
        default_factory=FakePendingAuthorizations
    )
    tickets: FakeEnrollmentTickets = field(default_factory=FakeEnrollmentTickets)
    users: FakeUserStore = field(default_factory=FakeUserStore)
    kazaplan: FakeKazaplan = None

    def __post_init__(self):
        self.kazaplan = FakeKazaplan(self.clock, TOKEN_LIFETIME)

    @property
    def ports(self) -> Ports:
        return Ports(
            kazaplan=self.kazaplan,
            links=self.links,
            authorizations=self.authorizations,
            users=self.users,
            clock=self.clock,
            policy=self.policy,
            tickets=self.tickets,
        )

    def user(self, user_id: str = "alice") -> str:
        self.users.add(user_id)
        return user_id

    def link(self, user_id: str, state: LinkState) -> Link:
        """Give ``user_id`` a stored link in ``state``, as the use cases make it.

        An expired link is stored linked with a token past its expiry: the state
        comes from the clock, as it does for real.
        """
        if state is LinkState.UNLINKED:
            return self.links.get(user_id)

        account = self.kazaplan.add_user(f"{user_id}@kazaplan.test")
        tokens = self.kazaplan.issue_tokens(account.id)
        link = self.links.save(
            transition(
                self.links.get(user_id), AuthorizationCompleted(account.id, tokens)
            )
        )
        if state is LinkState.EXPIRED:
            self.clock.advance(TOKEN_LIFETIME)
        if state is LinkState.BROKEN:
            self.kazaplan.revoke_refresh_tokens()
            link = self.links.save(transition(link, RefreshRefused()))
        return link


@pytest.fixture
def world() -> World:
    return World()
