"""What kind of page a route serves: framed or not, token-bearing, JSON.

One table (filled by :mod:`kzlink.web.routes`) drives the choice of cookie
session, the framing and caching headers and the error format, so that these
three never disagree about a page.
"""

from dataclasses import dataclass

# Framing: "always" (the widget frames it), "kazaplan" (framed when
# access_method=kazaplan: the login and register pages), "never".
ALWAYS = "always"
KAZAPLAN = "kazaplan"
NEVER = "never"


@dataclass(frozen=True)
class Page:
    """``carries_token``: the answer holds a token, code or ticket, so it is
    never cached and sends no referrer. ``posts_forms``: the page posts forms to
    this site, so its own origin must still reach the CSRF origin check."""

    framing: str = NEVER
    carries_token: bool = False
    json: bool = False
    posts_forms: bool = False


def add_page(config, name, pattern, page, **route_options):
    """Add a route and remember what kind of page it serves."""
    config.add_route(name, pattern, **route_options)
    pages_of(config.registry)[name] = page


def pages_of(registry) -> dict:
    if not hasattr(registry, "kzlink_pages"):
        registry.kzlink_pages = {}
    return registry.kzlink_pages


def page_of(request) -> Page | None:
    """The page of the matched route; None for another application's route or
    when no route matched."""
    route = request.matched_route
    if route is None:
        return None
    return pages_of(request.registry).get(route.name)


def is_ours(request) -> bool:
    """True unless the request went to a route that kzlink does not serve."""
    return request.matched_route is None or page_of(request) is not None


def is_framed(request) -> bool:
    """True when the page is meant to be shown inside the widget's iframe."""
    page = page_of(request)
    if page is None or page.framing == NEVER:
        return False
    return page.framing == ALWAYS or access_method(request) == "kazaplan"


def access_method(request) -> str | None:
    try:
        value = request.GET.get("access_method")
        if value is None and request.method == "POST":
            value = request.POST.get("access_method")
    except ValueError:  # undecodable or malformed: not the iframe look
        return None
    return value


def wants_json(request) -> bool:
    page = page_of(request)
    if page is not None and page.json:
        return True
    offers = request.accept.acceptable_offers(["text/html", "application/json"])
    return bool(offers) and offers[0][0] == "application/json"
