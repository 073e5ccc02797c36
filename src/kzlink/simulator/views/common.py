"""Helpers shared by the simulator's views: JSON and HTML answers, injected
faults, Bearer tokens."""

import functools
import logging
import time

from pyramid.renderers import render_to_response
from pyramid.response import Response

log = logging.getLogger(__name__)

TEMPLATES = "kzlink.simulator:templates/"

# Looks like JSON to a careless parser, and is not.
GARBAGE = b'{"access_token": "<html><body>Bad Gateway</body></html>'
UNAVAILABLE = (
    b"<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>"
    b"<body><h1>Service Unavailable</h1><p>Kazaplan is down for maintenance."
    b"</p></body></html>"
)


def simulator(request):
    return request.registry.kazaplan_simulator


def json_response(data, status=200, headers=None) -> Response:
    response = Response(status=status, content_type="application/json")
    response.json_body = data
    response.headers.update(headers or {})
    return response


def page(request, template, status=200, **values) -> Response:
    """Render ``template`` as an HTML page of the simulator."""
    response = render_to_response(TEMPLATES + template, values, request=request)
    response.status = status
    response.headers["Cache-Control"] = "no-store"
    # Some pages are reached through URLs holding a client secret.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def error_page(request, message, status=400) -> Response:
    return page(request, "error.jinja2", status=status, message=message)


def fault_response(sim) -> Response | None:
    """The answer of the fault injected in ``sim``, or None to answer normally.

    ``slow`` sleeps here, outside any lock, then lets the view answer.
    """
    fault = sim.fault
    if fault == "slow":
        time.sleep(sim.slow_seconds)
    elif fault == "error":
        return Response(UNAVAILABLE, status=503, content_type="text/html")
    elif fault == "garbage":
        return Response(GARBAGE, status=200, content_type="application/json")
    return None


def server_to_server(view):
    """Let the faults injected in the simulator hit ``view``."""

    @functools.wraps(view)
    def wrapper(request):
        return fault_response(simulator(request)) or view(request)

    return wrapper


def bearer_token(request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def unauthorized(message="Invalid or expired token.") -> Response:
    # RFC 6750 section 3: the scheme and the reason in WWW-Authenticate.
    challenge = 'Bearer realm="Kazaplan", error="invalid_token"'
    body = {"status": "error", "code": 401, "error": "invalid_token"}
    body["message"] = message
    return json_response(body, status=401, headers={"WWW-Authenticate": challenge})


def authenticated(view):
    """Call ``view(request, user, client)`` for a live Bearer token, else 401."""

    @functools.wraps(view)
    def wrapper(request):
        token = bearer_token(request)
        if token is None:
            return unauthorized("Missing Bearer token.")
        grant = simulator(request).access_grant(token)
        if grant is None:
            return unauthorized()
        return view(request, *grant)

    return wrapper
