"""What the Kazaplan simulator knows: clients, users, codes, tokens and plans.

Everything lives in memory behind one lock, so that the views of a threaded
server can share one :class:`Simulator`. The OAuth rules of RFC 6749 and RFC 7636
are kept here, free of HTTP: the views only translate requests and answers.
Tests drive the same object to inject faults, move the clock and look inside.
"""

import base64
import hashlib
import hmac
import json
import logging
import secrets
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

log = logging.getLogger(__name__)

DOCUMENTED_SCOPE = "partner:users user partner:wanaplans partner user:wanaplans"
GRANT_TYPES = ("authorization_code", "refresh_token")
FAULTS = (None, "error", "slow", "garbage")


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Client:
    """A partner application registered with Kazaplan."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uris: tuple[str, ...] = ()
    partner_key: str = ""
    partner_origin: str = ""
    grant_types: tuple[str, ...] = GRANT_TYPES

    def secret_matches(self, secret: str) -> bool:
        return hmac.compare_digest(secret.encode(), self.client_secret.encode())


@dataclass(frozen=True)
class User:
    id: int
    email: str
    username: str
    created_at: datetime


@dataclass(frozen=True)
class StoredPlan:
    id: int
    user_id: int
    title: str
    items: tuple[str, ...]
    partner_key: str
    created_at: datetime
    updated_at: datetime
    version: int = 1


@dataclass(frozen=True)
class IssuedTokens:
    """What the token endpoint answers on success."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int
    scope: str


class GrantError(Exception):
    """A token request refused, with its RFC 6749 section 5.2 error code."""

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    user_id: int
    scope: str
    challenge: str | None
    expires_at: datetime
    family: str
    used: bool = False


@dataclass(frozen=True)
class _Grant:
    """What an access or refresh token stands for. ``family`` ties together
    every token descended from one authorization code."""

    client_id: str
    user_id: int
    scope: str
    family: str
    expires_at: datetime | None = None


class Simulator:
    """An in-memory Kazaplan: OAuth server, v3 API data and widget plans.

    ``fault`` breaks the server-to-server endpoints (token and v3) until it is
    set back to None: ``"error"`` answers 503 with an HTML page, ``"slow"``
    waits ``slow_seconds`` then answers normally, ``"garbage"`` answers 200 with
    a body that is not JSON. ``clock`` returns the aware UTC time the simulator
    lives by; tests may replace it.
    """

    def __init__(
        self,
        clients=(),
        token_lifetime: timedelta = timedelta(seconds=604799),
        code_lifetime: timedelta = timedelta(seconds=60),
        clock=None,
        flow_lifetime: timedelta = timedelta(minutes=30),
    ):
        self._lock = threading.RLock()
        self._clients = {client.client_id: client for client in clients}
        self._signing_key = secrets.token_bytes(32)
        self._initial_clock = clock or system_clock
        self.token_lifetime = token_lifetime
        self.code_lifetime = code_lifetime
        self.flow_lifetime = flow_lifetime
        self.reset()

    def reset(self) -> None:
        """Forget users, codes, tokens, plans, counters and faults; keep clients.

        The clock goes back to the one given at construction.
        """
        with self._lock:
            self.clock = self._initial_clock
            self._fault = None
            self.slow_seconds = 2.0
            self._users: dict[int, User] = {}
            self._codes: dict[str, _Code] = {}
            self._access: dict[str, _Grant] = {}
            self._refresh: dict[str, _Grant] = {}
            self._plans: dict[int, StoredPlan] = {}
            self._grant_counts: dict[str, int] = {}
            # Ids start at a random point, so that a simulator restarted over a
            # kept kzlink database does not hand out ids already linked there.
            self._next_user_id = 2_000_000 + secrets.randbelow(1_000_000_000)
            self._next_plan_id = 1001

    @property
    def fault(self) -> str | None:
        return self._fault

    @fault.setter
    def fault(self, fault: str | None) -> None:
        if fault not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}, not {fault!r}")
        self._fault = fault

    # Clients

    def register_client(self, client: Client) -> None:
        with self._lock:
            self._clients[client.client_id] = client

    def client(self, client_id: str) -> Client | None:
        with self._lock:
            return self._clients.get(client_id)

    def client_by_partner_key(self, partner_key: str) -> Client | None:
        with self._lock:
            for client in self._clients.values():
                if client.partner_key == partner_key:
                    return client
            return None

    # Users

    def sign_up(self, email: str) -> User:
        """Create the account of ``email``, or return it when it exists."""
        with self._lock:
            user = self.user_by_email(email)
            if user is None:
                user = self._create_user(email)
            return user

    def _create_user(self, email: str) -> User:
        user_id = self._next_user_id
        self._next_user_id += 1
        local = email.split("@", 1)[0]
        username = "".join(c for c in local if c.isalnum())[:16] or "kazaplanner"
        user = User(user_id, email, f"{username}{user_id % 1000}", self.clock())
        self._users[user_id] = user
        log.info("simulator user signed up user_id=%s", user_id)
        return user

    def user(self, user_id: int) -> User | None:
        with self._lock:
            return self._users.get(user_id)

    def user_by_email(self, email: str) -> User | None:
        wanted = email.strip().casefold()
        with self._lock:
            for user in self._users.values():
                if user.email.casefold() == wanted:
                    return user
            return None

    # Authorization codes and tokens

    def issue_code(self, client_id, redirect_uri, user_id, scope, challenge) -> str:
        """Issue a single-use code bound to all of its arguments."""
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(
                client_id=client_id,
                redirect_uri=redirect_uri,
                user_id=user_id,
                scope=scope,
                challenge=challenge,
                expires_at=self.clock() + self.code_lifetime,
                family=secrets.token_hex(8),
            )
        log.info("simulator code issued user_id=%s client_id=%s", user_id, client_id)
        return code

    def count_grant(self, grant_type: str) -> None:
        with self._lock:
            self._grant_counts[grant_type] = self._grant_counts.get(grant_type, 0) + 1

    def grant_count(self, grant_type: str) -> int:
        """How many token requests named ``grant_type``, refused ones included."""
        with self._lock:
            return self._grant_counts.get(grant_type, 0)

    def authenticate_client(self, client_id: str, secret: str) -> Client:
        client = self.client(client_id)
        if client is None or not client.secret_matches(secret):
            raise GrantError("invalid_client", "Client authentication failed.")
        return client

    def exchange_code(self, client, code, redirect_uri, verifier) -> IssuedTokens:
        """The ``authorization_code`` grant (RFC 6749 4.1.3, RFC 7636 4.6)."""
        _allow_grant(client, "authorization_code")
        with self._lock:
            entry = self._codes.get(code)
            if entry is None or entry.client_id != client.client_id:
                raise GrantError("invalid_grant", "Unknown authorization code.")
            if entry.used:
                self._revoke_family(entry.family)
                raise GrantError("invalid_grant", "Authorization code already used.")
            if self.clock() >= entry.expires_at:
                raise GrantError("invalid_grant", "Authorization code expired.")
            if redirect_uri != entry.redirect_uri:
                raise GrantError("invalid_grant", "redirect_uri does not match.")
            _check_verifier(entry.challenge, verifier)
            entry.used = True
            return self._issue(
                client.client_id, entry.user_id, entry.scope, entry.family
            )

    def refresh(self, client, refresh_token) -> IssuedTokens:
        """The ``refresh_token`` grant, with rotation (RFC 6749 section 6)."""
        _allow_grant(client, "refresh_token")
        with self._lock:
            grant = self._refresh.get(refresh_token)
            if grant is None or grant.client_id != client.client_id:
                raise GrantError("invalid_grant", "Unknown refresh token.")
            del self._refresh[refresh_token]
            return self._issue(
                grant.client_id, grant.user_id, grant.scope, grant.family
            )

    def _issue(self, client_id, user_id, scope, family) -> IssuedTokens:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires_at = self.clock() + self.token_lifetime
        self._access[access] = _Grant(client_id, user_id, scope, family, expires_at)
        self._refresh[refresh] = _Grant(client_id, user_id, scope, family)
        log.info("simulator tokens issued user_id=%s", user_id)
        seconds = int(self.token_lifetime.total_seconds())
        return IssuedTokens(access, refresh, seconds, scope)

    def _revoke_family(self, family: str) -> None:
        # A replayed code may have leaked: everything it produced dies with it.
        for store in (self._access, self._refresh):
            for token in [t for t, g in store.items() if g.family == family]:
                del store[token]
        log.warning("simulator code replayed, tokens revoked")

    def access_grant(self, access_token: str) -> tuple[User, Client] | None:
        """The user and client of a live access token, or None."""
        with self._lock:
            grant = self._access.get(access_token)
            if grant is None or self.clock() >= grant.expires_at:
                return None
            return self._users[grant.user_id], self._clients[grant.client_id]

    def expire_access_tokens(self) -> None:
        """Make every access token issued so far expired."""
        past = self.clock() - timedelta(seconds=1)
        with self._lock:
            for token, grant in self._access.items():
                self._access[token] = _Grant(
                    grant.client_id, grant.user_id, grant.scope, grant.family, past
                )

    def revoke_refresh_tokens(self) -> None:
        """Forget every refresh token, as when a user revokes the partner."""
        with self._lock:
            self._refresh.clear()

    # Plans

    def save_plan(self, user_id, partner_key, title, items, plan_id=None):
        """Create a plan, or update ``plan_id``; return the StoredPlan.

        Returns None when ``plan_id`` is not a plan of ``user_id``.
        """
        with self._lock:
            now = self.clock()
            if plan_id is None:
                plan = StoredPlan(
                    self._next_plan_id, user_id, title, items, partner_key, now, now
                )
                self._next_plan_id += 1
            else:
                old = self._plans.get(plan_id)
                if old is None or old.user_id != user_id:
                    return None
                plan = replace(
                    old,
                    title=title,
                    items=items,
                    updated_at=now,
                    version=old.version + 1,
                )
            self._plans[plan.id] = plan
        log.info("simulator plan saved user_id=%s plan_id=%s", user_id, plan.id)
        return plan

    def plans_of(self, user_id: int) -> list[StoredPlan]:
        """The plans of ``user_id``, most recently updated first."""
        with self._lock:
            plans = [p for p in self._plans.values() if p.user_id == user_id]
        return sorted(plans, key=lambda p: (p.updated_at, p.id), reverse=True)

    def plan(self, plan_id: int) -> StoredPlan | None:
        with self._lock:
            return self._plans.get(plan_id)

    # Signed state of the authorize pages

    def sign(self, payload: dict) -> str:
        """Seal ``payload`` with an expiry, for a hidden form field."""
        expires = self.clock() + self.flow_lifetime
        data = dict(payload, exp=int(expires.timestamp()))
        body = base64.urlsafe_b64encode(json.dumps(data).encode()).decode()
        return f"{body}.{self._mac(body)}"

    def unsign(self, sealed: str) -> dict | None:
        """The payload of ``sealed``, or None if forged, damaged or expired."""
        body, _, mac = (sealed or "").partition(".")
        if not hmac.compare_digest(mac.encode(), self._mac(body).encode()):
            return None
        data = json.loads(base64.urlsafe_b64decode(body.encode()))
        if self.clock().timestamp() >= data.pop("exp"):
            return None
        return data

    def _mac(self, body: str) -> str:
        digest = hmac.new(self._signing_key, body.encode(), hashlib.sha256)
        return digest.hexdigest()


def _allow_grant(client: Client, grant_type: str) -> None:
    if grant_type not in client.grant_types:
        raise GrantError("unauthorized_client", f"Client may not use {grant_type}.")


def _check_verifier(challenge: str | None, verifier: str | None) -> None:
    if challenge is None:
        return
    if not verifier:
        raise GrantError("invalid_request", "code_verifier is required.")
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    if not hmac.compare_digest(computed, challenge):
        raise GrantError("invalid_grant", "code_verifier does not match.")
