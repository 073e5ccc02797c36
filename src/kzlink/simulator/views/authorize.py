"""The authorize pages: choose an account in one click, then accept or refuse.

These pages run inside a cross-site iframe, where third-party cookies may be
blocked; so the flow carries its state in hidden fields sealed by the simulator
(HMAC) and never sets a cookie. A request that cannot be trusted to go back to
the client (unknown client, unregistered redirect URI, wrong secret) gets an
error page; any other error goes back to the client (RFC 6749 4.1.2.1).
"""

import logging
import re
from urllib.parse import urlencode, urlsplit, urlunsplit

from pyramid.httpexceptions import HTTPFound

from kzlink.simulator.state import DOCUMENTED_SCOPE
from kzlink.simulator.views.common import error_page, page, simulator

log = logging.getLogger(__name__)

# RFC 7636 section 4.2: 43 to 128 characters of the unreserved set.
_CHALLENGE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_EXPIRED = "This page has expired or was altered. Please start again from the shop."


class PageError(Exception):
    """Shown on an error page: the client cannot be trusted with a redirect."""


class RedirectError(Exception):
    """Sent back to the client's redirect URI as ``error``."""

    def __init__(self, error, description):
        super().__init__(description)
        self.error = error
        self.description = description


def show_account_step(request):
    sim = simulator(request)
    try:
        flow = _parse_request(sim, request.GET)
    except PageError as error:
        return error_page(request, str(error))
    except RedirectError as error:
        return _back(request.GET["redirect_uri"], request.GET.get("state"), error)
    return _account_page(request, flow, email=request.GET.get("email", ""))


def choose_account(request):
    sim = simulator(request)
    flow = sim.unsign(request.POST.get("flow", ""))
    if flow is None or flow.get("stage") != "account":
        return error_page(request, _EXPIRED)
    email = request.POST.get("email", "").strip()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        error = "Please enter a valid email address."
        return _account_page(request, flow, email=email, error=error, status=400)
    known = sim.user_by_email(email)
    user = known or sim.sign_up(email)
    return _consent_page(request, flow, user, signed_up=known is None)


def decide(request):
    sim = simulator(request)
    flow = sim.unsign(request.POST.get("flow", ""))
    if flow is None or flow.get("stage") != "consent":
        return error_page(request, _EXPIRED)
    decision = request.POST.get("decision")
    if decision == "refuse":
        refused = RedirectError("access_denied", "The user refused access.")
        return _back(flow["redirect_uri"], flow["state"], refused)
    if decision != "accept":
        return error_page(request, "Please choose Accept or Refuse.")
    code = sim.issue_code(
        flow["client_id"],
        flow["redirect_uri"],
        flow["user_id"],
        flow["scope"],
        flow["challenge"],
    )
    return _redirect(flow["redirect_uri"], code=code, state=flow["state"])


def _parse_request(sim, params) -> dict:
    client = sim.client(params.get("client_id", ""))
    if client is None:
        raise PageError("This application is not known to Kazaplan (client_id).")
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in client.redirect_uris:
        raise PageError("This redirect_uri is not registered for the application.")
    # The guide calls the secret mandatory here; the simulator lets it be
    # left out, so that kzlink.secret_in_authorize_url=false can be tried,
    # but refuses a wrong one.
    secret = params.get("client_secret")
    if secret is not None and not client.secret_matches(secret):
        raise PageError("The application's credentials are wrong (client_secret).")
    response_type = params.get("response_type")
    if not response_type:
        raise RedirectError("invalid_request", "response_type is required.")
    if response_type != "code":
        raise RedirectError("unsupported_response_type", "Only code is supported.")
    return {
        "client_id": client.client_id,
        "redirect_uri": redirect_uri,
        "scope": params.get("scope") or DOCUMENTED_SCOPE,
        "state": params.get("state"),
        "challenge": _challenge(params),
    }


def _challenge(params) -> str | None:
    challenge = params.get("code_challenge")
    method = params.get("code_challenge_method")
    if challenge is None and method is None:
        return None
    if method != "S256":
        # An absent method means plain (RFC 7636 4.3), which is refused too.
        raise RedirectError("invalid_request", "code_challenge_method must be S256.")
    if challenge is None or not _CHALLENGE.fullmatch(challenge):
        raise RedirectError("invalid_request", "code_challenge is malformed.")
    return challenge


def _account_page(request, flow, email, error=None, status=200):
    sim = simulator(request)
    known = bool(email) and sim.user_by_email(email) is not None
    return page(
        request,
        "authorize_account.jinja2",
        status=status,
        flow=sim.sign(dict(flow, stage="account")),
        action_url=request.route_url("simulator.authorize_account"),
        client_id=flow["client_id"],
        email=email,
        known=known,
        error=error,
    )


def _consent_page(request, flow, user, signed_up):
    sim = simulator(request)
    return page(
        request,
        "authorize_consent.jinja2",
        flow=sim.sign(dict(flow, stage="consent", user_id=user.id)),
        action_url=request.route_url("simulator.authorize_consent"),
        client_id=flow["client_id"],
        scopes=flow["scope"].split(),
        user=user,
        signed_up=signed_up,
    )


def _back(redirect_uri, state, error: RedirectError):
    log.info("simulator authorization ended error=%s", error.error)
    return _redirect(
        redirect_uri,
        error=error.error,
        error_description=error.description,
        state=state,
    )


def _redirect(redirect_uri, **params):
    parts = urlsplit(redirect_uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return HTTPFound(location=urlunsplit(parts._replace(query=query)))
