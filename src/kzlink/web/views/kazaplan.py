"""The linking pages: enroll, the OAuth callback, refresh, unlink, tickets.

Each view reads its input, calls one use case and renders the outcome; domain
errors become answers in :mod:`kzlink.web.errors`.

Tickets go both ways between the partner's top-level page and the enroll
frame, whose sessions are separate cookies: the planner page hands its
shopper to the frame (``enroll_ticket``), and the hand-over page, which ends
the frame's session, hands its shopper back to the planner page
(``session_ticket``).
"""

import logging

from pyramid.httpexceptions import HTTPFound, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.response import Response
from pyramid.view import exception_view_config, view_config

from kzlink.domain import errors, usecases
from kzlink.web.pages import wants_json
from kzlink.web.params import (
    body_value,
    form_value,
    login_url,
    query_value,
    safe_next,
)
from kzlink.web.services import ports_for, session_of

log = logging.getLogger(__name__)

TEMPLATES = "kzlink.web:templates/"

# How long the handshake page waits for the planner page to acknowledge its
# request (a postMessage round trip), then for the ticket itself (a request to
# this server).
TICKET_ANSWER_WAIT_MS = 1500
TICKET_WAIT_MS = 15_000


@view_config(route_name="kazaplan.enroll", request_method="GET")
def enroll(request):
    session = session_of(request)
    command = usecases.Enroll(session.user_id, session.browser_session)
    outcome = usecases.enroll(command, ports_for(request))
    return _ENROLL_OUTCOMES[type(outcome)](request, outcome)


@view_config(route_name="kazaplan.callback", request_method="GET")
def callback(request):
    session = session_of(request)
    command = usecases.CompleteAuthorization(
        user_id=session.user_id,
        browser_session=session.browser_session,
        state=query_value(request, "state"),
        code=query_value(request, "code"),
        error=query_value(request, "error"),
    )
    usecases.complete_authorization(command, ports_for(request))
    return HTTPSeeOther(request.route_url("kazaplan.enroll"))


@view_config(route_name="kazaplan.refresh_token", request_method="POST")
def refresh_token(request):
    command = usecases.Refresh(
        session_of(request).user_id,
        last_access_token=body_value(request, "access_token"),
    )
    outcome = usecases.refresh(command, ports_for(request))
    if isinstance(outcome, usecases.LinkBroken):
        message = errors.RefreshRefusedError.message
        body = {"error": "link_broken", "message": message}
        return Response(json_body=body, status=409)
    return Response(json_body=_access(outcome))


@view_config(route_name="kazaplan.unlink", request_method="POST")
def unlink(request):
    command = usecases.Unlink(session_of(request).user_id)
    outcome = usecases.unlink(command, ports_for(request))
    if wants_json(request):
        return Response(json_body={"unlinked": outcome.was_linked})
    request.session.flash("unlinked", queue="kzlink")
    return HTTPSeeOther(safe_next(form_value(request, "next"), _after_unlink(request)))


@view_config(route_name="kazaplan.enrollment_ticket", request_method="POST")
def issue_ticket(request):
    command = usecases.IssueTicket(session_of(request).user_id)
    outcome = usecases.issue_ticket(command, ports_for(request))
    body = {"ticket": outcome.secret, "expires_at": outcome.expires_at.isoformat()}
    return Response(json_body=body)


@view_config(route_name="kazaplan.enroll_ticket", request_method="POST")
def redeem_ticket(request):
    command = usecases.RedeemTicket(form_value(request, "ticket"))
    outcome = usecases.redeem_ticket(command, ports_for(request))
    session_of(request).sign_in(outcome.user.id)
    return HTTPSeeOther(request.route_url("kazaplan.enroll"))


@view_config(route_name="kazaplan.session_ticket", request_method="POST")
def sign_in_with_ticket(request):
    session = session_of(request)
    command = usecases.SignInWithTicket(body_value(request, "ticket"), session.user_id)
    user = usecases.sign_in_with_ticket(command, ports_for(request)).user
    if session.user_id != user.id:
        session.sign_in(user.id)
    # Signing in renews the CSRF token: the page needs the new one.
    csrf = request.session.get_csrf_token()
    body = {"signed_in": True, "email": user.email, "csrf_token": csrf}
    return Response(json_body=body)


@exception_view_config(errors.TicketInvalidError, route_name="kazaplan.enroll_ticket")
def ticket_refused(error, request):
    # No ticket from the planner page: the shopper signs in inside the frame.
    log.info("enrollment ticket refused, sending to login")
    return HTTPSeeOther(login_url(request, request.route_path("kazaplan.enroll")))


def _ask_to_sign_in(request, outcome):
    # The frame has no session of its own yet: ask the planner page (same
    # site, top level, where the shopper may be signed in) for a ticket.
    handshake = {
        "loginUrl": login_url(request, request.route_path("kazaplan.enroll")),
        "waitMs": TICKET_ANSWER_WAIT_MS,
        "ticketWaitMs": TICKET_WAIT_MS,
    }
    return _render(request, "enroll_handshake.jinja2", handshake=handshake)


def _hand_over(request, outcome):
    # The enroll frame's session lasts one enrollment and ends here: a session
    # left in the frame's cookie would outlive a sign-out on the partner's
    # pages, which cannot reach that cookie, and hand the next shopper of this
    # browser the previous one's token. The ticket signs the partner's page in
    # as this shopper instead (if nobody is signed in there yet).
    session_of(request).sign_out()
    handover = {
        "token": outcome.access.access_token,
        "widgetOrigin": request.registry.kzlink_settings.widget_origin,
        "ticket": outcome.ticket.secret,
    }
    return _render(request, "enroll_handover.jinja2", handover=handover)


def _to_kazaplan(request, outcome):
    return HTTPFound(outcome.authorize_url)


_ENROLL_OUTCOMES = {
    usecases.SignInRequired: _ask_to_sign_in,
    usecases.TokenHandedOver: _hand_over,
    usecases.AuthorizationStarted: _to_kazaplan,
}


def _access(outcome: usecases.AccessGranted) -> dict:
    return {
        "access_token": outcome.access_token,
        "expires_at": outcome.expires_at.isoformat(),
    }


def _after_unlink(request) -> str:
    try:
        return request.route_path("account")
    except KeyError:
        return request.application_url + "/"


def _render(request, template, **values):
    return render_to_response(TEMPLATES + template, values, request=request)
