"""Security headers, and partner pages kept off the widget's host.

Framing: pages the widget frames (enroll, its callback, the login and register
pages in their iframe look) may be framed by the widget's origin, inside the
partner's own pages, and by nothing else; every other kzlink page by no one but
itself. Pages that carry a token, a code or a ticket are never cached and
send no referrer to another site. Routes of an including
application or of the simulator get ``nosniff`` only.
"""

from urllib.parse import urlsplit, urlunsplit

from pyramid.events import ContextFound, NewResponse
from pyramid.httpexceptions import HTTPFound

from kzlink.web.pages import is_framed, is_ours, page_of


def includeme(config):
    config.add_subscriber(set_security_headers, NewResponse)
    config.add_subscriber(leave_widget_host, ContextFound)


def set_security_headers(event):
    request, headers = event.request, event.response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if not is_ours(request):
        return

    if is_framed(request):
        # frame-ancestors checks every ancestor, not just the parent: the
        # partner's own page (this origin) frames the widget that frames us.
        widget = request.registry.kzlink_settings.widget_origin
        headers["Content-Security-Policy"] = f"frame-ancestors 'self' {widget}"
    else:
        headers["Content-Security-Policy"] = "frame-ancestors 'self'"
        headers["X-Frame-Options"] = "SAMEORIGIN"

    page = page_of(request)
    if page is not None and page.carries_token:
        headers["Cache-Control"] = "no-store"
        headers["Referrer-Policy"] = _referrer_policy(page)


def _referrer_policy(page) -> str:
    # Under no-referrer, browsers send "Origin: null" with a page's own form
    # posts, and over https the CSRF origin check refuses them. A page that
    # posts forms to this site, and whose URL holds no secret, sends its
    # referrer to this site only: nothing reaches another site either way.
    return "same-origin" if page.posts_forms else "no-referrer"


def leave_widget_host(event):
    """Send a partner page asked for on the widget's host to the partner's own.

    In development both sites are one server (127.0.0.1 and localhost); a
    partner page opened on the widget's host would put both on one site and
    hide the cross-site behaviour that production has.
    """
    request = event.request
    settings = request.registry.kzlink_settings
    public, widget = urlsplit(settings.public_url), urlsplit(settings.widget_origin)
    if public.netloc == widget.netloc or request.host != widget.netloc:
        return
    if page_of(request) is None or request.method not in ("GET", "HEAD"):
        return
    parts = (public.scheme, public.netloc, request.path, request.query_string, "")
    raise HTTPFound(location=urlunsplit(parts))
