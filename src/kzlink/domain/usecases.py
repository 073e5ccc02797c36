"""The use cases: enroll, complete an authorization, refresh, unlink, overview.

Each takes a command and the ports it needs (bundled in :class:`Ports`) and
returns an outcome value; failures a shopper can meet are raised as domain
errors. A use case never commits: the caller's unit of work does, except where
a port says a write is durable at once.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kzlink.domain import errors
from kzlink.domain.authorization import EnrollmentTicket, PendingAuthorization
from kzlink.domain.enrollment import EnrollmentDecision, decide_enrollment
from kzlink.domain.model import (
    AuthorizationCompleted,
    KazaplanUser,
    Link,
    LinkState,
    PartnerUser,
    PlanPage,
    RefreshRefused,
    TimePassed,
    TokenRefreshed,
    Unlinked,
    transition,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    """The settings the use cases depend on."""

    redirect_uri: str
    expiry_margin: timedelta = timedelta(minutes=5)
    authorization_ttl: timedelta = timedelta(minutes=10)
    ticket_ttl: timedelta = timedelta(minutes=1)
    use_pkce: bool = False


@dataclass(frozen=True)
class Ports:
    """The ports one unit of work uses (see :mod:`kzlink.domain.ports`)."""

    kazaplan: object
    links: object
    authorizations: object
    users: object
    clock: object
    policy: Policy
    tickets: object = None


# Commands.


@dataclass(frozen=True)
class Enroll:
    """``browser_session`` names the browser session asking (see ISession)."""

    user_id: str | None
    browser_session: str = field(repr=False)


@dataclass(frozen=True)
class CompleteAuthorization:
    user_id: str | None
    browser_session: str = field(repr=False)
    state: str | None = field(repr=False)
    code: str | None = field(default=None, repr=False)
    error: str | None = None


@dataclass(frozen=True)
class Refresh:
    """Get a working access token. ``last_access_token`` is the one the widget
    last used, when the page knows it: a stored token newer than it is returned
    without asking Kazaplan."""

    user_id: str | None
    last_access_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Unlink:
    user_id: str | None


@dataclass(frozen=True)
class ShowAccount:
    user_id: str | None


@dataclass(frozen=True)
class IssueTicket:
    user_id: str | None


@dataclass(frozen=True)
class RedeemTicket:
    secret: str | None = field(repr=False)


@dataclass(frozen=True)
class SignInWithTicket:
    """Sign a page in with a ticket; ``user_id`` is who that page has now."""

    secret: str | None = field(repr=False)
    user_id: str | None


# Outcomes.


@dataclass(frozen=True)
class SignInRequired:
    pass


@dataclass(frozen=True)
class AccessGranted:
    access_token: str = field(repr=False)
    expires_at: datetime
    refreshed: bool = False


@dataclass(frozen=True)
class AuthorizationStarted:
    authorize_url: str


@dataclass(frozen=True)
class LinkBroken:
    """Kazaplan refused the refresh token; the link is now broken."""

    reason: str = errors.RefreshRefusedError.code


@dataclass(frozen=True)
class LinkCompleted:
    link: Link
    kazaplan_user: KazaplanUser


@dataclass(frozen=True)
class TicketIssued:
    secret: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True)
class TicketRedeemed:
    user: PartnerUser


@dataclass(frozen=True)
class TokenHandedOver:
    """The enroll page's last step: the token for the widget, and a ticket that
    signs the partner's own page in as the shopper the token belongs to."""

    access: AccessGranted
    ticket: TicketIssued


@dataclass(frozen=True)
class UnlinkDone:
    was_linked: bool


@dataclass(frozen=True)
class AccountOverview:
    user: PartnerUser
    state: LinkState
    kazaplan_user: KazaplanUser | None = None
    plans: PlanPage | None = None
    problem: errors.Error | None = None


# Use cases.


def enroll(command: Enroll, ports: Ports):
    """Return SignInRequired, TokenHandedOver or AuthorizationStarted."""
    user = _signed_in_user(command.user_id, ports)
    link = _current_link(user.id, ports) if user else None
    decision = decide_enrollment(user is not None, link.state if link else None)

    if decision is EnrollmentDecision.ASK_TO_SIGN_IN:
        return SignInRequired()
    if decision is EnrollmentDecision.HAND_OVER_TOKEN:
        return _hand_over(user, _granted(link), ports)
    if decision is EnrollmentDecision.REFRESH_THEN_HAND_OVER:
        outcome = refresh(Refresh(user.id), ports)
        if isinstance(outcome, AccessGranted):
            return _hand_over(user, outcome, ports)
    return _start_authorization(user, command.browser_session, ports)


def complete_authorization(
    command: CompleteAuthorization, ports: Ports
) -> LinkCompleted:
    """Check the callback, exchange its code and link the Kazaplan account."""
    if not command.state:
        raise errors.StateMissingError()
    pending = ports.authorizations.take(command.state, ports.clock.now())

    if command.user_id is None:
        raise errors.NotSignedInError("signed out before the callback")
    if command.user_id != pending.user_id:
        raise errors.StateMismatchError(f"state of user {pending.user_id}")
    if not pending.started_in(command.browser_session):
        raise errors.StateMismatchError(
            f"state of user {pending.user_id} started in another browser session"
        )
    if command.error == "access_denied":
        raise errors.AuthorizationRefusedError()
    if command.error:
        raise errors.AuthorizationFailedError(f"kazaplan error {command.error!r}")
    if not command.code:
        raise errors.CodeMissingError()

    tokens = ports.kazaplan.exchange_code(
        command.code, ports.policy.redirect_uri, pending.code_verifier
    )
    kazaplan_user = ports.kazaplan.fetch_user(tokens.access_token)
    _refuse_if_linked_elsewhere(command.user_id, kazaplan_user.id, ports)

    link = ports.links.get(command.user_id)
    link = ports.links.save(
        transition(link, AuthorizationCompleted(kazaplan_user.id, tokens))
    )
    log.info(
        "link authorized user_id=%s kazaplan_user_id=%s",
        link.user_id,
        kazaplan_user.id,
    )
    return LinkCompleted(link=link, kazaplan_user=kazaplan_user)


def refresh(command: Refresh, ports: Ports):
    """Return AccessGranted or LinkBroken; one refresh at a time per link.

    Only a refresh takes the link's lock: a fresh token is answered from a
    plain read, which neither waits for a refresh nor writes anything.
    """
    if command.user_id is None:
        raise errors.NotSignedInError()

    link = _current_link(command.user_id, ports)
    if not _needs_refresh(link, command.last_access_token):
        return _settled(link)

    with ports.links.locked(command.user_id) as held:
        # Another request may have refreshed while this one waited for the
        # lock: its newer token is then the answer.
        link = _observe_time(held.link, ports)
        if not _needs_refresh(link, command.last_access_token):
            return _settled(link)
        return _refresh_locked(link, held, ports)


def unlink(command: Unlink, ports: Ports) -> UnlinkDone:
    """Forget the link and its tokens; unlinking twice is harmless."""
    if command.user_id is None:
        raise errors.NotSignedInError()
    link = ports.links.get(command.user_id)
    if link.state is LinkState.UNLINKED:
        return UnlinkDone(was_linked=False)

    ports.links.save(transition(link, Unlinked()))
    log.info("link removed user_id=%s", link.user_id)
    return UnlinkDone(was_linked=True)


def show_account(command: ShowAccount, ports: Ports) -> AccountOverview:
    """The link's state and, when Kazaplan answers, its user and plans."""
    user = _signed_in_user(command.user_id, ports)
    if user is None:
        raise errors.NotSignedInError()
    link = _current_link(user.id, ports)
    if link.state in (LinkState.UNLINKED, LinkState.BROKEN):
        return AccountOverview(user=user, state=link.state)

    try:
        access = refresh(Refresh(user.id), ports)
        if isinstance(access, LinkBroken):
            return AccountOverview(user=user, state=LinkState.BROKEN)
        kazaplan_user = ports.kazaplan.fetch_user(access.access_token)
        plans = ports.kazaplan.list_plans(access.access_token)
    except (errors.KazaplanUnavailableError, errors.AccessTokenRejectedError) as error:
        return AccountOverview(user=user, state=link.state, problem=error)
    return AccountOverview(
        user=user, state=LinkState.LINKED, kazaplan_user=kazaplan_user, plans=plans
    )


def issue_ticket(command: IssueTicket, ports: Ports) -> TicketIssued:
    """Let the enroll frame act for the user signed in on the partner's page."""
    user = _signed_in_user(command.user_id, ports)
    if user is None:
        raise errors.NotSignedInError()
    return _issue_ticket(user, ports)


def redeem_ticket(command: RedeemTicket, ports: Ports) -> TicketRedeemed:
    """Return the user a ticket was issued to; each ticket works once."""
    if not command.secret:
        raise errors.TicketInvalidError("no ticket")
    user_id = ports.tickets.redeem(command.secret, ports.clock.now())
    user = _signed_in_user(user_id, ports)
    if user is None:
        raise errors.TicketInvalidError(f"user {user_id} is gone")
    log.info("enrollment ticket redeemed user_id=%s", user.id)
    return TicketRedeemed(user=user)


def sign_in_with_ticket(command: SignInWithTicket, ports: Ports) -> TicketRedeemed:
    """Redeem a ticket for a page that may already have a shopper.

    A page's shopper never changes silently: a page signed in as another user
    keeps that user, and the ticket is spent all the same. A page whose user
    has been deleted since counts as signed out.
    """
    user = redeem_ticket(RedeemTicket(command.secret), ports).user
    current = _signed_in_user(command.user_id, ports)
    if current is not None and current.id != user.id:
        log.info(
            "ticket sign-in refused, user_id=%s is signed in instead of user_id=%s",
            current.id,
            user.id,
        )
        raise errors.SignedInAsAnotherUserError(f"{current.id} instead of {user.id}")
    return TicketRedeemed(user=user)


# Steps.


def _signed_in_user(user_id: str | None, ports: Ports) -> PartnerUser | None:
    # A session can outlive its user (deleted account): treat it as signed out.
    return ports.users.get(user_id) if user_id is not None else None


def _current_link(user_id: str, ports: Ports) -> Link:
    return _observe_time(ports.links.get(user_id), ports)


def _observe_time(link: Link, ports: Ports) -> Link:
    return transition(link, TimePassed(ports.clock.now(), ports.policy.expiry_margin))


def _granted(link: Link, refreshed: bool = False) -> AccessGranted:
    return AccessGranted(
        access_token=link.tokens.access_token,
        expires_at=link.tokens.expires_at,
        refreshed=refreshed,
    )


def _settled(link: Link):
    """The answer to a refresh that needs no call to Kazaplan."""
    if link.state is LinkState.UNLINKED:
        raise errors.NotLinkedError()
    if link.state is LinkState.BROKEN:
        return LinkBroken()
    return _granted(link)


def _needs_refresh(link: Link, last_access_token: str | None) -> bool:
    if link.state in (LinkState.UNLINKED, LinkState.BROKEN):
        return False
    if link.state is LinkState.EXPIRED:
        return True
    if last_access_token is None:
        return False
    # The widget's token was refused. If another request already stored a newer
    # one, that one is the answer; if it is ours, Kazaplan has dropped it.
    return last_access_token == link.tokens.access_token


def _refresh_locked(link: Link, held, ports: Ports):
    # ``held`` reads and saves in the lock's own unit of work, which commits
    # as the lock is released: Kazaplan has already dropped the old refresh
    # token, so the new one must not depend on the rest of the request.
    try:
        tokens = ports.kazaplan.refresh(link.tokens.refresh_token)
    except errors.RefreshRefusedError:
        return _after_refusal(link, held, ports)

    link = held.save(transition(link, TokenRefreshed(tokens)))
    log.info("link refreshed user_id=%s", link.user_id)
    return _granted(link, refreshed=True)


def _after_refusal(link: Link, held, ports: Ports):
    # Without the lock (or with a store that cannot lock across processes)
    # another writer may have rotated the token just now: only a refusal of the
    # refresh token still stored means the link is broken.
    current = _observe_time(held.get(link.user_id), ports)
    if current.state is LinkState.UNLINKED:
        raise errors.NotLinkedError()
    if current.state is LinkState.BROKEN:
        return LinkBroken()
    if current.tokens.refresh_token != link.tokens.refresh_token:
        log.info("refresh refused for a rotated token user_id=%s", link.user_id)
        return _granted(current)

    held.save(transition(current, RefreshRefused()))
    log.warning("link broken: refresh refused user_id=%s", link.user_id)
    return LinkBroken()


def _hand_over(user: PartnerUser, access: AccessGranted, ports: Ports):
    return TokenHandedOver(access=access, ticket=_issue_ticket(user, ports))


def _issue_ticket(user: PartnerUser, ports: Ports) -> TicketIssued:
    ticket = EnrollmentTicket.issue(user.id, ports.clock.now(), ports.policy.ticket_ttl)
    ports.tickets.issue(ticket)
    log.info("enrollment ticket issued user_id=%s", user.id)
    return TicketIssued(secret=ticket.secret, expires_at=ticket.expires_at)


def _refuse_if_linked_elsewhere(user_id: str, kazaplan_user_id: int, ports: Ports):
    other = ports.links.find_by_kazaplan_user(kazaplan_user_id)
    if other is not None and other.user_id != user_id:
        raise errors.AccountLinkedElsewhereError(
            f"kazaplan user {kazaplan_user_id} is linked to user {other.user_id}"
        )


def _start_authorization(
    user: PartnerUser, browser_session: str, ports: Ports
) -> AuthorizationStarted:
    pending = PendingAuthorization.start(
        user.id,
        browser_session,
        ports.clock.now(),
        ports.policy.authorization_ttl,
        ports.policy.use_pkce,
    )
    ports.authorizations.record(pending)
    url = ports.kazaplan.authorize_url(
        pending.state, ports.policy.redirect_uri, user.email, pending.code_challenge
    )
    log.info("authorization started user_id=%s", user.id)
    return AuthorizationStarted(authorize_url=url)
