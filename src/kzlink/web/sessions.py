"""Two signed-cookie sessions: one for top-level pages, one for the widget's frame.

The enroll page runs in a cross-site iframe (partner page > widget > enroll).
Current browsers send that frame no third-party cookie, not even
``SameSite=None; Secure``, and keep only ``Partitioned`` cookies set from inside
it. So framed pages get their own session, in a partitioned cookie, and every
other page the usual ``SameSite=Lax`` one. ``request.session`` picks the right
one, so Pyramid's session-based CSRF works unchanged in both contexts.

A shopper signed in on the planner page is carried into the frame by an
enrollment ticket, and one who signed in inside the frame is carried back to
the planner page by another, issued at hand-over (see the enroll views): never
by a shared cookie. The frame's session lasts one enrollment: it ends when the
token is handed over, and after a short idle time when the shopper leaves
midway, because a sign-out on the partner's pages cannot reach its cookie.

Known shortcomings: a browser that drops even partitioned cookies in the frame
fails the frame's CSRF checks: such a shopper cannot link from inside the
widget. And a frame session left midway (signed in, never handed over) lives
until its idle timeout: the next user of a shared browser could, meanwhile,
finish that enrollment with a Kazaplan account of their own.
"""

from pyramid.events import NewResponse
from pyramid.session import SignedCookieSessionFactory

from kzlink.settings import SettingsError
from kzlink.web.pages import is_framed

TOP_COOKIE = "kzlink_session"
FRAME_COOKIE = "kzlink_frame"
FRAME_IDLE_SECONDS = 15 * 60

# Browsers accept Secure cookies on http://127.0.0.1 and http://localhost, so
# development keeps the same attributes as production.
_COMMON = {"httponly": True, "secure": True, "reissue_time": 300}


def includeme(config):
    secret = config.registry.kzlink_settings.session_secret
    if not secret:
        raise SettingsError(
            "kzlink.session_secret (or KZLINK_SESSION_SECRET) must be set"
        )
    top = SignedCookieSessionFactory(
        secret,
        cookie_name=TOP_COOKIE,
        salt="kzlink.session.top",
        samesite="Lax",
        timeout=8 * 3600,
        **_COMMON,
    )
    frame = SignedCookieSessionFactory(
        secret,
        cookie_name=FRAME_COOKIE,
        salt="kzlink.session.frame",
        samesite="None",
        # Long enough to sign in, sign up on Kazaplan and accept; no longer,
        # for the next shopper of a shared browser.
        timeout=FRAME_IDLE_SECONDS,
        **_COMMON,
    )
    config.set_session_factory(pick_session(top, frame))
    config.add_subscriber(partition_frame_cookie, NewResponse)


def pick_session(top, frame):
    def session_factory(request):
        return frame(request) if is_framed(request) else top(request)

    return session_factory


def partition_frame_cookie(event):
    # WebOb cannot write the Partitioned attribute; without it the browser
    # drops the cookie that a cross-site frame sets.
    headers = event.response.headers
    cookies = headers.getall("Set-Cookie")
    if not any(c.startswith(FRAME_COOKIE + "=") for c in cookies):
        return
    del headers["Set-Cookie"]
    for cookie in cookies:
        if cookie.startswith(FRAME_COOKIE + "=") and not _partitioned(cookie):
            cookie += "; Partitioned"
        headers.add("Set-Cookie", cookie)


def _partitioned(cookie: str) -> bool:
    # A cookie value holds no "; ", so this matches an attribute only.
    return "; partitioned" in cookie.lower()
