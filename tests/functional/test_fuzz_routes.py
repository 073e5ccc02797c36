"""Generated garbage at every route of the app, signed out and as a linked
shopper: never a server error, never a changed link, never a token where it
has no business.

The routes come from the app's route mapper, so a route added later is
covered without touching this file. Generated requests carry no valid CSRF
token, so even the routes that hand out a token must leave every link as it
was.
"""

import json
import re
import string
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyramid.interfaces import IRoutesMapper
from sqlalchemy import text

from tests.functional.test_callback_errors import framed_shopper

EXAMPLES_PER_ROUTE = 50

# Routes whose answers may carry the shopper's access token: the hand-over,
# the refresh endpoint and the planner page. No answer ever carries the
# refresh token.
MAY_CARRY_ACCESS_TOKEN = {"kazaplan.enroll", "kazaplan.refresh_token", "home"}

PARAMETER_NAMES = [
    "state",
    "code",
    "error",
    "next",
    "access_method",
    "ticket",
    "access_token",
    "email",
    "password",
    "csrf_token",
]
HEADER_NAMES = [
    "Accept",
    "Content-Type",
    "X-CSRF-Token",
    "Origin",
    "Referer",
    "X-Forwarded-For",
    "X-Forwarded-Proto",
    "X-Forwarded-Host",
    "Authorization",
    "X-Requested-With",
    "Accept-Language",
]
CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "application/json",
    "multipart/form-data",
    "multipart/form-data; boundary=x",
    "text/plain",
    "application/json; charset=latin-1",
    "",
]

# Printable, and Latin-1 beyond ASCII: what an HTTP header can hold.
HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=60,
)
ANY_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["kazaplan", "/account", "//evil.test", "%ff", "x" * 5000]),
)
NAMES = st.one_of(st.sampled_from(PARAMETER_NAMES), st.text(min_size=1, max_size=12))
FIELDS = st.lists(st.tuples(NAMES, ANY_TEXT), max_size=6)
QUERIES = st.one_of(
    FIELDS.map(lambda pairs: urlencode(pairs)),
    st.text(string.printable.strip(), max_size=80),
)
HOSTS = st.one_of(
    st.sampled_from(["partner.test", "widget.test", "evil.test", "PARTNER.test:80"]),
    st.from_regex(r"[a-z0-9.-]{1,20}(:[0-9]{1,5})?", fullmatch=True),
)
OTHER_HEADERS = st.dictionaries(
    st.one_of(
        st.sampled_from(HEADER_NAMES),
        st.from_regex(r"X-[A-Za-z]{1,10}", fullmatch=True),
    ),
    HEADER_TEXT,
    max_size=4,
)
# A browser always sends a Host; any other header may be missing.
HEADERS = st.tuples(OTHER_HEADERS, st.none() | HOSTS).map(
    lambda pair: pair[0] if pair[1] is None else {**pair[0], "Host": pair[1]}
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(PARAMETER_NAMES) | st.text(max_size=8), inner)
    ),
    max_leaves=8,
)
BODIES = st.one_of(
    st.just((b"", None)),
    FIELDS.map(lambda pairs: (urlencode(pairs).encode(), CONTENT_TYPES[0])),
    JSON.map(lambda value: (json.dumps(value).encode(), "application/json")),
    st.tuples(st.binary(max_size=200), st.sampled_from(CONTENT_TYPES)),
)


def routes_of(app):
    return app.registry.getUtility(IRoutesMapper).get_routes()


PLACEHOLDER = re.compile(r"\{(\w+)[^}]*\}|\*(\w+)")


def path_strategy(route):
    """Paths that match ``route``, whatever its placeholders."""
    names = [a or b for a, b in PLACEHOLDER.findall(route.pattern)]
    segment = st.text(string.ascii_letters + string.digits + "-._~%", max_size=12)
    values = {}
    for name in names:
        if f"*{name}" in route.pattern:
            values[name] = st.lists(segment.filter(bool), min_size=1, max_size=3)
        else:
            values[name] = segment.filter(bool)
    return st.fixed_dictionaries(values).map(
        lambda matchdict: route.generate(
            {k: tuple(v) if isinstance(v, list) else v for k, v in matchdict.items()}
        )
    )


class Snapshot:
    """The links table, read raw, and the secrets no answer may show."""

    def __init__(self, webapp, user_id, may_carry=MAY_CARRY_ACCESS_TOKEN):
        self.webapp = webapp
        self.may_carry = may_carry
        self.rows = self.links()
        link = webapp.link_of(user_id) if user_id else None
        self.access = link.access_token if link else None
        self.refresh = link.tokens.refresh_token if link else None
        settings = webapp.settings
        self.never = [settings.session_secret, *settings.token_keys.split(",")]
        if self.refresh:
            self.never.append(self.refresh)

    def links(self):
        with self.webapp.app.registry.dbsession_factory() as session:
            return session.execute(text("SELECT * FROM links ORDER BY user_id")).all()

    def check(self, route, response):
        assert response.status_int < 500, (route.name, response.status, response.text)
        shown = response.body + str(response.headers).encode()
        for secret in self.never:
            assert secret.encode() not in shown, route.name
        if self.access and route.name not in self.may_carry:
            assert self.access.encode() not in shown, route.name
        assert self.links() == self.rows, route.name


@pytest.fixture(params=["signed-out", "linked"])
def visitor(request, webapp, kazaplan):
    """A browser and what to compare after each request."""
    if request.param == "signed-out":
        # Someone else's link is in the table, to be left alone, and its
        # token shown to no stranger.
        owner, owner_id = framed_shopper(webapp, "owner@example.com")
        owner.link()
        return webapp.shopper(), Snapshot(webapp, owner_id, may_carry=set())
    shopper, user_id = framed_shopper(webapp, "linked@example.com")
    shopper.link()
    # Signed in in the frame and on the top-level pages alike.
    shopper.log_in("linked@example.com")
    return shopper, Snapshot(webapp, user_id)


FUZZ = settings(
    max_examples=EXAMPLES_PER_ROUTE,
    deadline=None,
    # Nothing to remember between runs: every run starts afresh.
    database=None,
)
# The app, the linked shopper and the snapshot are built once per test and
# shared by its examples, on purpose: each example must leave them as they
# were, which is what is checked. The examples run in a function called from
# the test, so no function-scoped fixture reaches Hypothesis.


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_every_route_survives_garbage(webapp, visitor, method):
    browser, snapshot = visitor
    routes = routes_of(webapp.app)
    assert {"kazaplan.enroll", "kazaplan.callback", "login"} <= {r.name for r in routes}

    for route in routes:
        fuzz_route(browser, snapshot, route, method)


def fuzz_route(browser, snapshot, route, method):
    @FUZZ
    @given(
        path=path_strategy(route),
        query=QUERIES,
        headers=HEADERS,
        body=BODIES,
    )
    def one_request(path, query, headers, body):
        url = path + ("?" + query if query else "")
        payload, content_type = body if method == "POST" else (b"", None)
        # The body goes as it is: WebTest would parse a multipart one itself.
        response = browser.request(
            url,
            method=method,
            headers=headers,
            body=payload,
            content_type=content_type or headers.get("Content-Type"),
            expect_errors=True,
        )
        snapshot.check(route, response)

    one_request()
