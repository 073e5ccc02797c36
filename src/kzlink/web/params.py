"""Reading request parameters safely: bounded, single, of the expected type.

Anything malformed becomes :class:`BadInputError`, a 400 with a plain message,
never a 500.
"""

import json
from urllib.parse import unquote, urlencode, urlsplit

from pyramid.httpexceptions import HTTPBadRequest

# Longer than any state, code, token or ticket Kazaplan or kzlink produces.
MAX_VALUE_LENGTH = 4096
MAX_BODY_LENGTH = 4 * MAX_VALUE_LENGTH


class BadInputError(HTTPBadRequest):
    """A parameter is malformed; ``detail`` says which, for the shopper."""


def query_value(request, name: str) -> str | None:
    """The single value of query parameter ``name``; None when absent or empty."""
    return _single(request.GET.getall(name), name)


def form_value(request, name: str) -> str | None:
    """The single value of form field ``name``; None when absent or empty."""
    return _single(request.POST.getall(name), name)


def body_value(request, name: str) -> str | None:
    """``name`` from a JSON object body, or from a form body."""
    if request.content_type != "application/json":
        return form_value(request, name)
    body = _json_object(request)
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise BadInputError(f"{name} must be a string or null.")
    return _bounded(value, name) or None


def safe_next(value: str | None, default: str) -> str:
    """``value`` when it is a path on this site, else ``default``.

    Only a relative path that starts with a single ``/`` is kept, judged as
    given and after percent-decoding (repeatedly), with no backslash, control
    character or scheme: anything a browser could read as another host is
    refused. It must be printable ASCII as given, since it becomes a
    ``Location`` header.
    """
    if not value or len(value) > MAX_VALUE_LENGTH or not _printable_ascii(value):
        return default
    if not value.startswith("/") or value.startswith("//"):
        return default
    decoded = value
    for _ in range(3):
        decoded = unquote(decoded)
    if not decoded.startswith("/") or decoded.startswith("//"):
        return default
    if "\\" in decoded or any(ord(char) < 0x20 or char == "\x7f" for char in decoded):
        return default
    parts = urlsplit(decoded)
    if parts.scheme or parts.netloc:
        return default
    return value


def _printable_ascii(value: str) -> bool:
    return all("!" <= char <= "~" for char in value)


def login_url(request, next_path: str) -> str:
    """The partner's login page in its iframe look, coming back to ``next_path``.

    An including application provides it as the route named ``login``.
    """
    query = {"access_method": "kazaplan", "next": next_path}
    try:
        return request.route_url("login", _query=query)
    except KeyError:
        return request.application_url + "/login?" + urlencode(query)


def _single(values: list, name: str) -> str | None:
    if not values:
        return None
    if len(values) > 1:
        raise BadInputError(f"{name} was given more than once.")
    return _bounded(values[0], name) or None


def _bounded(value: str | None, name: str) -> str | None:
    if value is not None and len(value) > MAX_VALUE_LENGTH:
        raise BadInputError(f"{name} is too long.")
    return value


def _json_object(request) -> dict:
    if (request.content_length or 0) > MAX_BODY_LENGTH:
        raise BadInputError("The request body is too large.")
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise BadInputError("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise BadInputError("The request body must be a JSON object.")
    return body
