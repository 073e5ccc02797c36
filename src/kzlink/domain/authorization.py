"""Authorizations in flight (the ``state`` nonce, who started it and in which
browser session, PKCE) and enrollment tickets.

An authorization is recorded on the server when the enroll page sends a shopper
to Kazaplan, and taken (once) by the callback, which must come from the same
browser session. The state itself travels in URLs only, never in a cookie.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# 32 bytes of randomness: 256 bits, well above the 128 that guessing would need.
_NONCE_BYTES = 32


def new_nonce() -> str:
    return secrets.token_urlsafe(_NONCE_BYTES)


def code_challenge(verifier: str) -> str:
    """The PKCE S256 challenge of ``verifier`` (RFC 7636 section 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class PendingAuthorization:
    """One authorization in flight, started by ``user_id`` in the browser
    session whose digest is ``browser_session_digest``."""

    state: str = field(repr=False)
    user_id: str
    browser_session_digest: str
    created_at: datetime
    expires_at: datetime
    code_verifier: str | None = field(default=None, repr=False)

    @classmethod
    def start(
        cls,
        user_id: str,
        browser_session: str,
        now: datetime,
        ttl: timedelta,
        use_pkce: bool,
    ) -> "PendingAuthorization":
        return cls(
            state=new_nonce(),
            user_id=user_id,
            browser_session_digest=digest(browser_session),
            created_at=now,
            expires_at=now + ttl,
            code_verifier=new_nonce() if use_pkce else None,
        )

    def started_in(self, browser_session: str | None) -> bool:
        """Whether this authorization was started in ``browser_session``."""
        if not browser_session:
            return False
        return hmac.compare_digest(self.browser_session_digest, digest(browser_session))

    @property
    def code_challenge(self) -> str | None:
        return code_challenge(self.code_verifier) if self.code_verifier else None

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at


@dataclass(frozen=True)
class EnrollmentTicket:
    """Lets the enroll frame act for the user signed in on the partner's page."""

    secret: str = field(repr=False)
    user_id: str
    expires_at: datetime

    @classmethod
    def issue(cls, user_id: str, now: datetime, ttl: timedelta) -> "EnrollmentTicket":
        return cls(secret=new_nonce(), user_id=user_id, expires_at=now + ttl)

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at


def digest(secret: str) -> str:
    """The SHA-256 hex digest under which a state or ticket secret is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
