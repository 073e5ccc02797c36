"""The link state machine: every (state, event) pair, and its invariants."""

import itertools
import typing
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kzlink.domain.errors import IllegalTransitionError
from kzlink.domain.model import (
    AuthorizationCompleted,
    Event,
    Link,
    LinkState,
    RefreshRefused,
    TimePassed,
    TokenRefreshed,
    Tokens,
    Unlinked,
    transition,
)

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
MARGIN = timedelta(minutes=5)
OLD_ACCOUNT = 41
NEW_ACCOUNT = 42


def tokens(name: str, expires_at: datetime = NOW + timedelta(hours=1)) -> Tokens:
    return Tokens(f"access-{name}", f"refresh-{name}", expires_at)


OLD_TOKENS = tokens("old")
NEW_TOKENS = tokens("new", NOW + timedelta(hours=2))

LINKS = {
    LinkState.UNLINKED: Link.unlinked("alice"),
    LinkState.LINKED: Link("alice", LinkState.LINKED, OLD_ACCOUNT, OLD_TOKENS, 3),
    LinkState.EXPIRED: Link("alice", LinkState.EXPIRED, OLD_ACCOUNT, OLD_TOKENS, 3),
    LinkState.BROKEN: Link("alice", LinkState.BROKEN, OLD_ACCOUNT, None, 3),
}

# One event of each kind. TimePassed comes well after every token's expiry; its
# boundary has tests of its own below.
EVENTS = {
    AuthorizationCompleted: AuthorizationCompleted(NEW_ACCOUNT, NEW_TOKENS),
    TokenRefreshed: TokenRefreshed(NEW_TOKENS),
    RefreshRefused: RefreshRefused(),
    Unlinked: Unlinked(),
    TimePassed: TimePassed(NOW + timedelta(days=1), MARGIN),
}

U, L, E, B = LinkState.UNLINKED, LinkState.LINKED, LinkState.EXPIRED, LinkState.BROKEN
ILLEGAL = IllegalTransitionError

# (state, event kind) -> the resulting state, or the error raised.
TABLE = {
    (U, AuthorizationCompleted): L,
    (L, AuthorizationCompleted): L,
    (E, AuthorizationCompleted): L,
    (B, AuthorizationCompleted): L,
    (U, TokenRefreshed): ILLEGAL,
    (L, TokenRefreshed): L,
    (E, TokenRefreshed): L,
    (B, TokenRefreshed): ILLEGAL,
    (U, RefreshRefused): ILLEGAL,
    (L, RefreshRefused): B,
    (E, RefreshRefused): B,
    (B, RefreshRefused): ILLEGAL,
    (U, Unlinked): ILLEGAL,
    (L, Unlinked): U,
    (E, Unlinked): U,
    (B, Unlinked): U,
    (U, TimePassed): U,
    (L, TimePassed): E,
    (E, TimePassed): E,
    (B, TimePassed): B,
}


def test_table_covers_every_state_and_every_event_kind():
    kinds = set(typing.get_args(Event))

    assert set(EVENTS) == kinds
    assert set(LINKS) == set(LinkState)
    assert set(TABLE) == set(itertools.product(LinkState, kinds))


@pytest.mark.parametrize(
    ("state", "kind", "expected"),
    [(s, k, r) for (s, k), r in TABLE.items() if r is not ILLEGAL],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_legal_transition_reaches_the_expected_state(state, kind, expected):
    after = transition(LINKS[state], EVENTS[kind])

    assert after.state is expected
    assert after.user_id == "alice"
    assert after.version == LINKS[state].version


@pytest.mark.parametrize(
    ("state", "kind"),
    [(s, k) for (s, k), r in TABLE.items() if r is ILLEGAL],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_illegal_transition_raises(state, kind):
    with pytest.raises(IllegalTransitionError):
        transition(LINKS[state], EVENTS[kind])


@pytest.mark.parametrize("state", list(LinkState))
def test_authorization_takes_the_new_account_and_tokens(state):
    after = transition(LINKS[state], EVENTS[AuthorizationCompleted])

    assert after.kazaplan_user_id == NEW_ACCOUNT
    assert after.tokens == NEW_TOKENS


@pytest.mark.parametrize("state", [L, E])
def test_refresh_keeps_the_account_and_takes_the_new_tokens(state):
    after = transition(LINKS[state], EVENTS[TokenRefreshed])

    assert after.kazaplan_user_id == OLD_ACCOUNT
    assert after.tokens == NEW_TOKENS


@pytest.mark.parametrize("state", [L, E])
def test_refused_refresh_drops_the_tokens_but_remembers_the_account(state):
    after = transition(LINKS[state], EVENTS[RefreshRefused])

    assert after.tokens is None
    assert after.kazaplan_user_id == OLD_ACCOUNT


@pytest.mark.parametrize("state", [L, E, B])
def test_unlinking_forgets_account_and_tokens(state):
    after = transition(LINKS[state], EVENTS[Unlinked])

    assert after.tokens is None
    assert after.kazaplan_user_id is None


def test_time_passing_keeps_a_token_valid_until_the_margin():
    just_before = OLD_TOKENS.expires_at - MARGIN - timedelta(microseconds=1)

    after = transition(LINKS[L], TimePassed(just_before, MARGIN))

    assert after.state is LinkState.LINKED


def test_time_passing_expires_a_token_at_the_margin():
    at_margin = OLD_TOKENS.expires_at - MARGIN

    after = transition(LINKS[L], TimePassed(at_margin, MARGIN))

    assert after.state is LinkState.EXPIRED
    assert after.tokens == OLD_TOKENS


def test_time_running_backwards_does_not_revive_an_expired_link():
    after = transition(LINKS[E], TimePassed(NOW - timedelta(days=1), MARGIN))

    assert after.state is LinkState.EXPIRED


def test_transition_refuses_what_is_not_an_event():
    with pytest.raises(TypeError):
        transition(LINKS[L], "unlink")


# Any sequence of events from any valid link.

_moments = st.datetimes(
    min_value=datetime(2029, 12, 31),
    max_value=datetime(2030, 1, 3),
    timezones=st.just(UTC),
)
_tokens = st.builds(
    Tokens,
    access_token=st.text(min_size=1, max_size=8),
    refresh_token=st.text(min_size=1, max_size=8),
    expires_at=_moments,
)
_accounts = st.integers(min_value=1, max_value=5)
_margins = st.timedeltas(min_value=timedelta(0), max_value=timedelta(minutes=10))

EVENT_STRATEGIES = {
    AuthorizationCompleted: st.builds(AuthorizationCompleted, _accounts, _tokens),
    TokenRefreshed: st.builds(TokenRefreshed, _tokens),
    RefreshRefused: st.just(RefreshRefused()),
    Unlinked: st.just(Unlinked()),
    TimePassed: st.builds(TimePassed, _moments, _margins),
}


@st.composite
def valid_links(draw) -> Link:
    state = draw(st.sampled_from(LinkState))
    if state is LinkState.UNLINKED:
        return Link.unlinked("alice")
    held = draw(_tokens) if state is not LinkState.BROKEN else None
    return Link("alice", state, draw(_accounts), held, draw(st.integers(0, 9)))


def assert_invariants(link: Link) -> None:
    if link.state in (LinkState.LINKED, LinkState.EXPIRED):
        assert link.tokens is not None
        assert link.kazaplan_user_id is not None
    if link.state is LinkState.UNLINKED:
        assert link.tokens is None
        assert link.kazaplan_user_id is None
    if link.state is LinkState.BROKEN:
        assert link.tokens is None


def test_property_strategies_cover_every_event_kind():
    assert set(EVENT_STRATEGIES) == set(typing.get_args(Event))


@given(
    valid_links(),
    st.lists(st.one_of(*EVENT_STRATEGIES.values()), max_size=12),
)
def test_any_event_sequence_keeps_the_link_invariants(link, events):
    for event in events:
        try:
            link = transition(link, event)
        except IllegalTransitionError:
            continue
        assert_invariants(link)
