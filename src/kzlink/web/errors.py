"""Error answers, in one place: domain errors, bad requests, CSRF, not found.

Each domain error maps, by its ``code``, to an HTTP status. A JSON route (or a
client asking for JSON) gets ``{"error": code, "message": message}``; a page
gets the error page with the shopper's message and, inside the widget's frame,
a way to start again. Nothing else about the failure is shown.
"""

import logging

from pyramid.events import ContextFound
from pyramid.exceptions import BadCSRFOrigin, BadCSRFToken
from pyramid.httpexceptions import HTTPBadRequest
from pyramid.renderers import render_to_response
from pyramid.response import Response

from kzlink.domain import errors
from kzlink.web.pages import is_framed, wants_json
from kzlink.web.params import BadInputError

log = logging.getLogger(__name__)

STATUS_BY_CODE = {
    errors.StateMissingError.code: 400,
    errors.StateUnknownError.code: 400,
    errors.StateUsedError.code: 400,
    errors.StateExpiredError.code: 400,
    errors.CodeMissingError.code: 400,
    errors.CodeRefusedError.code: 400,
    errors.StateMismatchError.code: 403,
    errors.AuthorizationRefusedError.code: 403,
    errors.TicketInvalidError.code: 403,
    errors.NotSignedInError.code: 401,
    errors.AccountLinkedElsewhereError.code: 409,
    errors.SignedInAsAnotherUserError.code: 409,
    errors.NotLinkedError.code: 409,
    errors.RefreshRefusedError.code: 409,
    errors.LinkChangedError.code: 409,
    errors.IllegalTransitionError.code: 409,
    errors.KazaplanUnavailableError.code: 503,
    errors.LinkBusyError.code: 503,
    errors.ClientRejectedError.code: 502,
    errors.AuthorizationFailedError.code: 502,
    errors.AccessTokenRejectedError.code: 502,
    errors.TokenDecryptionError.code: 503,
    "email_taken": 409,
}

# Seconds a client should wait before asking again when Kazaplan is down.
RETRY_AFTER = "10"

CSRF_MESSAGE = (
    "This form has expired or did not come from this site. "
    "Please reload the page and try again."
)
BAD_REQUEST_MESSAGE = "This request could not be understood."
NOT_FOUND_MESSAGE = "This page does not exist."


def includeme(config):
    config.add_exception_view(domain_error, context=errors.Error)
    config.add_exception_view(bad_csrf, context=BadCSRFToken)
    config.add_exception_view(bad_csrf, context=BadCSRFOrigin)
    config.add_exception_view(bad_request, context=HTTPBadRequest)
    config.add_exception_view(bad_request, context=UnicodeDecodeError)
    config.add_notfound_view(not_found)
    config.add_subscriber(read_form_body, ContextFound)


def read_form_body(event):
    """Parse a form body before the CSRF check and the view read it.

    A multipart body without a boundary makes WebOb raise a bare ValueError,
    which no exception view could tell from a bug; here it is a bad request.
    Every route is concerned, static files and an including application's
    too, since the default CSRF check reads the body of every POST.
    """
    request = event.request
    if request.method != "POST":
        return
    try:
        # Reading it parses it, once: WebOb keeps the fields for later.
        _ = request.POST
    except ValueError:
        raise BadInputError("The form could not be read.") from None


def domain_error(error, request):
    status = STATUS_BY_CODE.get(error.code, 500)
    # A shopper's mistake is routine; Kazaplan or kzlink failing is not.
    level = logging.WARNING if status >= 500 else logging.INFO
    log.log(level, "request failed error=%s status=%s", error.code, status)
    log.debug("request failure detail=%s", error.detail)
    response = error_response(request, status, error.code, error.message)
    if status == 503:
        response.headers["Retry-After"] = RETRY_AFTER
    return response


def bad_csrf(error, request):
    log.info("csrf check failed path=%s", request.path)
    return error_response(request, 403, "csrf_failed", CSRF_MESSAGE)


def bad_request(error, request):
    message = error.detail if isinstance(error, BadInputError) else None
    return error_response(request, 400, "bad_request", message or BAD_REQUEST_MESSAGE)


def not_found(error, request):
    return error_response(request, 404, "not_found", NOT_FOUND_MESSAGE)


def error_response(request, status, code, message):
    if wants_json(request):
        return Response(json_body={"error": code, "message": message}, status=status)
    values = {"status": status, "message": message, "try_again_url": None}
    if is_framed(request):
        values["try_again_url"] = request.route_url("kazaplan.enroll")
    response = render_to_response(
        "kzlink.web:templates/error.jinja2", values, request=request
    )
    response.status_int = status
    return response
