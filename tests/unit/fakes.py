"""Hand-written in-memory fakes of the domain's ports, for the unit tests.

Each fake keeps its data in plain dicts and records the calls the tests need to
assert on, so that a test can say "Kazaplan was not asked" or "nothing was
saved" without a mocking library.
"""

import contextlib
import itertools
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from zope.interface import implementer

from kzlink.domain import errors
from kzlink.domain.authorization import code_challenge, digest
from kzlink.domain.model import (
    KazaplanUser,
    Link,
    PartnerUser,
    Plan,
    PlanPage,
    Tokens,
)
from kzlink.domain.ports import (
    IClock,
    IEnrollmentTickets,
    IKazaplan,
    ILinkStore,
    IPendingAuthorizations,
    IUserStore,
)

START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@implementer(IClock)
class FakeClock:
    def __init__(self, now: datetime = START):
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


@implementer(IUserStore)
class FakeUserStore:
    def __init__(self):
        self.users: dict[str, PartnerUser] = {}

    def add(self, user_id: str, email: str | None = None) -> PartnerUser:
        user = PartnerUser(id=user_id, email=email or f"{user_id}@partner.test")
        self.users[user_id] = user
        return user

    def get(self, user_id):
        return self.users.get(user_id)


@implementer(ILinkStore)
class FakeLinkStore:
    """Links by user id, with the version guard of the real stores.

    ``locked`` takes no real lock (the unit tests run one request at a time)
    but records in ``locks`` each user it locks. While a user's lock is held,
    a save of that user's link through the store itself is refused, as a
    database would make it wait for ever on the lock its own request holds:
    inside the block, saves go through the handle. Saves apply at once.
    ``before_lock``, when set, runs as ``locked`` is entered, before the link
    is read: tests use it to let another writer act while a request waits for
    the lock.
    """

    def __init__(self):
        self.links: dict[str, Link] = {}
        self.saves: list[Link] = []
        self.locks: list[str] = []
        self.before_lock = None
        self._held: set[str] = set()

    def get(self, user_id):
        return self.links.get(user_id) or Link.unlinked(user_id)

    def find_by_kazaplan_user(self, kazaplan_user_id):
        for link in self.links.values():
            if link.kazaplan_user_id == kazaplan_user_id:
                return link
        return None

    def save(self, link):
        if link.user_id in self._held:
            raise RuntimeError(
                f"link of user {link.user_id} saved around the lock it holds"
            )
        return self._save(link)

    @contextlib.contextmanager
    def locked(self, user_id):
        if self.before_lock is not None:
            self.before_lock()
        self.locks.append(user_id)
        self._held.add(user_id)
        try:
            yield FakeLockedLink(self.get(user_id), self)
        finally:
            self._held.discard(user_id)

    def elsewhere(self) -> "FakeLinkStore":
        """The same links, as another process sees them: its saves do not
        wait for the locks this store holds."""
        view = FakeLinkStore()
        view.links, view.saves = self.links, self.saves
        return view

    def snapshot(self) -> dict[str, Link]:
        return dict(self.links)

    def _save(self, link):
        if link.version != self.get(link.user_id).version:
            raise errors.LinkChangedError(f"stale write for user {link.user_id}")
        saved = replace(link, version=link.version + 1)
        self.links[link.user_id] = saved
        self.saves.append(saved)
        return saved


@dataclass(frozen=True)
class FakeLockedLink:
    """What ``FakeLinkStore.locked`` yields: the link, and reads and saves
    that the held lock lets through."""

    link: Link
    store: FakeLinkStore

    def get(self, user_id):
        return self.store.get(user_id)

    def save(self, link):
        return self.store._save(link)


@implementer(IPendingAuthorizations)
class FakePendingAuthorizations:
    """Pending authorizations under the digest of their state, as stored for real."""

    def __init__(self):
        self.recorded: list = []
        self._by_digest: dict[str, object] = {}
        self._taken: set[str] = set()

    def record(self, authorization):
        self.recorded.append(authorization)
        self._by_digest[digest(authorization.state)] = authorization

    def take(self, state, now):
        key = digest(state)
        authorization = self._by_digest.get(key)
        if authorization is None:
            raise errors.StateUnknownError()
        if key in self._taken:
            raise errors.StateUsedError()
        self._taken.add(key)
        if authorization.is_expired(now):
            raise errors.StateExpiredError()
        return authorization


@implementer(IEnrollmentTickets)
class FakeEnrollmentTickets:
    def __init__(self):
        self.issued: list = []
        self._by_digest: dict[str, object] = {}
        self._used: set[str] = set()

    def issue(self, ticket):
        self.issued.append(ticket)
        self._by_digest[digest(ticket.secret)] = ticket

    def redeem(self, secret, now):
        key = digest(secret)
        ticket = self._by_digest.get(key)
        if ticket is None or key in self._used:
            raise errors.TicketInvalidError()
        self._used.add(key)
        if ticket.is_expired(now):
            raise errors.TicketInvalidError()
        return ticket.user_id


@implementer(IKazaplan)
class FakeKazaplan:
    """Kazaplan's accounts, codes and tokens, in memory.

    ``calls`` names every method called, in order, and ``redirect_uris`` the
    redirect URI each authorize URL and code exchange named. ``fault``, when set to an
    error, is raised by every call that would reach Kazaplan's servers.
    ``before_refresh``, when set, runs at the start of ``refresh``: tests use it
    to let another writer act at that moment.
    """

    AUTHORIZE_URL = "https://kazaplan.test/authorize"

    def __init__(self, clock: FakeClock, lifetime: timedelta = timedelta(hours=1)):
        self.clock = clock
        self.lifetime = lifetime
        self.calls: list[str] = []
        self.redirect_uris: list[str] = []
        self.fault: errors.Error | None = None
        self.before_refresh = None
        self._ids = itertools.count(1001)
        self._users: dict[int, KazaplanUser] = {}
        self._plans: dict[int, tuple[Plan, ...]] = {}
        self._codes: dict[str, tuple[int, str | None]] = {}
        self._access: dict[str, tuple[int, datetime]] = {}
        self._refresh: dict[str, int] = {}

    # Test setup.

    def add_user(self, email: str, plans: tuple[Plan, ...] = ()) -> KazaplanUser:
        user = KazaplanUser(id=next(self._ids), email=email, nb_plans=len(plans))
        self._users[user.id] = user
        self._plans[user.id] = plans
        return user

    def grant_code(self, kazaplan_user_id: int, challenge: str | None = None) -> str:
        code = secrets.token_urlsafe(16)
        self._codes[code] = (kazaplan_user_id, challenge)
        return code

    def issue_tokens(self, kazaplan_user_id: int) -> Tokens:
        tokens = Tokens(
            access_token="access-" + secrets.token_urlsafe(16),
            refresh_token="refresh-" + secrets.token_urlsafe(16),
            expires_at=self.clock.now() + self.lifetime,
        )
        self._access[tokens.access_token] = (kazaplan_user_id, tokens.expires_at)
        self._refresh[tokens.refresh_token] = kazaplan_user_id
        return tokens

    def revoke_refresh_tokens(self) -> None:
        self._refresh.clear()

    def revoke_access_tokens(self) -> None:
        self._access.clear()

    @property
    def server_calls(self) -> list[str]:
        # Building the authorize URL makes no request.
        return [name for name in self.calls if name != "authorize_url"]

    # IKazaplan.

    def authorize_url(self, state, redirect_uri, email, code_challenge=None):
        self.calls.append("authorize_url")
        self.redirect_uris.append(redirect_uri)
        url = f"{self.AUTHORIZE_URL}?state={state}&email={email}"
        return url + (f"&code_challenge={code_challenge}" if code_challenge else "")

    def exchange_code(self, code, redirect_uri, code_verifier=None):
        self._call("exchange_code")
        self.redirect_uris.append(redirect_uri)
        kazaplan_user_id, challenge = self._codes.pop(code, (None, None))
        if kazaplan_user_id is None:
            raise errors.CodeRefusedError("unknown or used code")
        proven = bool(code_verifier) and code_challenge(code_verifier) == challenge
        if challenge and not proven:
            raise errors.CodeRefusedError("code verifier does not match")
        return self.issue_tokens(kazaplan_user_id)

    def refresh(self, refresh_token):
        self._call("refresh")
        if self.before_refresh is not None:
            self.before_refresh()
        kazaplan_user_id = self._refresh.pop(refresh_token, None)
        if kazaplan_user_id is None:
            raise errors.RefreshRefusedError()
        return self.issue_tokens(kazaplan_user_id)

    def fetch_user(self, access_token):
        self._call("fetch_user")
        return self._users[self._owner(access_token)]

    def list_plans(self, access_token, page=1, limit=20):
        self._call("list_plans")
        plans = self._plans[self._owner(access_token)]
        pages = max(1, -(-len(plans) // limit))
        chosen = plans[(page - 1) * limit : page * limit]
        return PlanPage(plans=chosen, page=page, pages=pages, count=len(plans))

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.fault is not None:
            raise self.fault

    def _owner(self, access_token: str) -> int:
        kazaplan_user_id, expires_at = self._access.get(access_token, (None, None))
        if kazaplan_user_id is None or self.clock.now() >= expires_at:
            raise errors.AccessTokenRejectedError()
        return kazaplan_user_id
