"""Value objects and the link state machine.

A link belongs to one partner user. Its state changes only through
:func:`transition`, a pure function of the link, an event and the time; an event
that does not fit the state raises :class:`IllegalTransitionError`.
"""

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from kzlink.domain.errors import IllegalTransitionError


class LinkState(enum.Enum):
    UNLINKED = "unlinked"
    LINKED = "linked"
    EXPIRED = "expired"
    BROKEN = "broken"


@dataclass(frozen=True)
class Tokens:
    """An access token, the refresh token that renews it, and its absolute expiry."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    scope: str = ""

    def is_expired(self, now: datetime, margin: timedelta) -> bool:
        # The margin keeps us from handing out a token that dies on the way.
        return now >= self.expires_at - margin


@dataclass(frozen=True)
class PartnerUser:
    """A user of the partner's own site, as its user store knows them."""

    id: str
    email: str


@dataclass(frozen=True)
class KazaplanUser:
    """The Kazaplan account behind a token (``GET /v3/users``)."""

    id: int
    email: str
    username: str = ""
    first_name: str = ""
    last_name: str = ""
    country_code: str | None = None
    nb_plans: int | None = None


@dataclass(frozen=True)
class Plan:
    """One saved plan of a Kazaplan user (an item of ``GET /v3/users/plans``)."""

    id: str
    title: str
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class PlanPage:
    plans: tuple[Plan, ...]
    page: int
    pages: int
    count: int


@dataclass(frozen=True)
class Link:
    """The link of one partner user to a Kazaplan account.

    ``version`` counts saves; stores use it to refuse a write based on a stale
    read. A link that was never saved has version 0.
    """

    user_id: str
    state: LinkState = LinkState.UNLINKED
    kazaplan_user_id: int | None = None
    tokens: Tokens | None = None
    version: int = 0

    @classmethod
    def unlinked(cls, user_id: str) -> "Link":
        return cls(user_id=user_id)

    @property
    def access_token(self) -> str | None:
        return self.tokens.access_token if self.tokens else None


# Events: what can happen to a link.


@dataclass(frozen=True)
class AuthorizationCompleted:
    kazaplan_user_id: int
    tokens: Tokens


@dataclass(frozen=True)
class TokenRefreshed:
    tokens: Tokens


@dataclass(frozen=True)
class RefreshRefused:
    pass


@dataclass(frozen=True)
class Unlinked:
    pass


@dataclass(frozen=True)
class TimePassed:
    now: datetime
    margin: timedelta


Event = AuthorizationCompleted | TokenRefreshed | RefreshRefused | Unlinked | TimePassed

_HOLDS_REFRESH_TOKEN = (LinkState.LINKED, LinkState.EXPIRED)
_KNOWS_ACCOUNT = (LinkState.LINKED, LinkState.EXPIRED, LinkState.BROKEN)


def transition(link: Link, event: Event) -> Link:
    """Return the link after ``event``, or raise IllegalTransitionError."""
    match event:
        case AuthorizationCompleted(kazaplan_user_id=kazaplan_id, tokens=tokens):
            # Any state may be (re-)authorized: it is how a broken link heals.
            return replace(
                link,
                state=LinkState.LINKED,
                kazaplan_user_id=kazaplan_id,
                tokens=tokens,
            )
        case TokenRefreshed(tokens=tokens):
            _require(link, event, _HOLDS_REFRESH_TOKEN)
            return replace(link, state=LinkState.LINKED, tokens=tokens)
        case RefreshRefused():
            _require(link, event, _HOLDS_REFRESH_TOKEN)
            return replace(link, state=LinkState.BROKEN, tokens=None)
        case Unlinked():
            _require(link, event, _KNOWS_ACCOUNT)
            return replace(
                link, state=LinkState.UNLINKED, kazaplan_user_id=None, tokens=None
            )
        case TimePassed(now=now, margin=margin):
            if link.state is LinkState.LINKED and link.tokens.is_expired(now, margin):
                return replace(link, state=LinkState.EXPIRED)
            return link
    raise TypeError(f"not a link event: {event!r}")


def _require(link: Link, event: Event, states: tuple[LinkState, ...]) -> None:
    if link.state not in states:
        raise IllegalTransitionError(
            f"{type(event).__name__} is not allowed from {link.state.value}"
        )
