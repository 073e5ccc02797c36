"""The token endpoint (RFC 6749 sections 3.2, 4.1.3, 5 and 6).

Clients authenticate with HTTP Basic only, as Kazaplan's guide does. The guide
also repeats ``grant_type`` in the query string; that copy is accepted when it
agrees with the body's. Every request naming a grant type is counted, refused
or not, before any injected fault applies.
"""

import base64
import binascii

from kzlink.simulator.state import GrantError
from kzlink.simulator.views.common import fault_response, json_response, simulator

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def token(request):
    sim = simulator(request)
    grant_type = request.POST.get("grant_type") or request.GET.get("grant_type")
    if grant_type:
        sim.count_grant(grant_type)
    faulty = fault_response(sim)
    if faulty is not None:
        return faulty
    try:
        client = sim.authenticate_client(*_basic_credentials(request))
        tokens = _grant(sim, client, request, grant_type)
    except GrantError as error:
        return _error(error)
    body = {
        "access_token": tokens.access_token,
        "token_type": "Bearer",
        "expires_in": tokens.expires_in,
        "refresh_token": tokens.refresh_token,
        "scope": tokens.scope,
    }
    return json_response(body, headers=_NO_STORE)


def _grant(sim, client, request, grant_type):
    form = request.POST
    in_query = request.GET.get("grant_type")
    if not grant_type or (in_query and form.get("grant_type", in_query) != in_query):
        raise GrantError("invalid_request", "grant_type is missing or ambiguous.")
    if grant_type == "authorization_code":
        code = _required(form, "code")
        redirect_uri = _required(form, "redirect_uri")
        verifier = form.get("code_verifier")
        return sim.exchange_code(client, code, redirect_uri, verifier)
    if grant_type == "refresh_token":
        return sim.refresh(client, _required(form, "refresh_token"))
    raise GrantError("unsupported_grant_type", "Unsupported grant_type.")


def _required(form, name) -> str:
    values = form.getall(name)
    if len(values) != 1 or not values[0]:
        raise GrantError("invalid_request", f"{name} is required, once.")
    return values[0]


def _basic_credentials(request) -> tuple[str, str]:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    try:
        if scheme.lower() != "basic":
            raise ValueError("not Basic")
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (ValueError, binascii.Error):
        raise GrantError(
            "invalid_client", "HTTP Basic client authentication is required."
        ) from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise GrantError("invalid_client", "Malformed Basic credentials.")
    return client_id, secret


def _error(error: GrantError):
    headers = dict(_NO_STORE)
    status = 400
    if error.error == "invalid_client":
        status = 401
        headers["WWW-Authenticate"] = 'Basic realm="Kazaplan"'
    body = {"error": error.error, "error_description": error.description}
    return json_response(body, status=status, headers=headers)
