"""The ISession port over Pyramid's ``request.session``.

Whichever cookie session the request uses (the top-level one or the frame's,
see :mod:`kzlink.web.sessions`), signing in or out starts a fresh session and a
fresh CSRF token, so that nothing planted before the sign-in survives it.
"""

import logging
import secrets

from pyramid.csrf import new_csrf_token
from zope.interface import implementer

from kzlink.domain.ports import ISession

log = logging.getLogger(__name__)

USER_KEY = "kzlink.user_id"
BROWSER_SESSION_KEY = "kzlink.browser_session"


@implementer(ISession)
class PyramidSession:
    def __init__(self, request):
        self._request = request

    @property
    def user_id(self) -> str | None:
        value = self._request.session.get(USER_KEY)
        return str(value) if value is not None else None

    @property
    def browser_session(self) -> str:
        # Made at sign-in, so that two tabs enrolling at once read the same
        # one; a session without it (signed out) gets one on first read.
        # Invalidating the session (sign-in, sign-out) drops it with the rest.
        session = self._request.session
        if BROWSER_SESSION_KEY not in session:
            session[BROWSER_SESSION_KEY] = secrets.token_urlsafe(16)
        return session[BROWSER_SESSION_KEY]

    def sign_in(self, user_id: str) -> None:
        session = self._request.session
        session.invalidate()
        session[USER_KEY] = str(user_id)
        session[BROWSER_SESSION_KEY] = secrets.token_urlsafe(16)
        new_csrf_token(self._request)
        log.info("signed in user_id=%s", user_id)

    def sign_out(self) -> None:
        user_id = self.user_id
        self._request.session.invalidate()
        new_csrf_token(self._request)
        log.info("signed out user_id=%s", user_id)
