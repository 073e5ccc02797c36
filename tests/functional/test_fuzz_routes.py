"""Generated garbage at every route of the app, signed out and as a linked
shopper: never a server error, never a changed link, never a secret where it
has no business.

The routes come from the app's route mapper, so a route added later is
covered without touching this file. About half the generated POSTs carry
the browser's valid CSRF token (in the ``csrf_token`` field of a form, the
``X-CSRF-Token`` header otherwise), so that their bodies get past the CSRF
check to the views and their parsing; the others carry none, a forged one,
or another browser's.
After each request the browser's cookies are put back, so each one starts
from the same signed-in session whatever the one before did (a sign-out, a
sign-in as a newly registered user). Only the shopper's own unlink, with a
valid token, may change a link: it is put back too.

No answer may show the client secret (except in the redirect to Kazaplan's
authorize page), the session secret, the token keys, a refresh token, the
code and state of an authorization, nor an enrollment ticket, except the
answer that issues it; the access token only on the pages that hand it over.
"""

import json
import re
import string
from urllib.parse import urlencode, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyramid.interfaces import IRoutesMapper
from sqlalchemy import text

from kzlink.web.pages import ALWAYS, pages_of
from tests.fixtures.simulator import query_params, walk_authorize
from tests.fixtures.webapp import PUBLIC_URL, path_of
from tests.functional.test_callback_errors import framed_shopper

EXAMPLES_PER_ROUTE = 50
PARTNER_HOST = urlsplit(PUBLIC_URL).netloc

# Routes whose answers may carry the shopper's access token: the hand-over,
# the refresh endpoint and the planner page. No answer ever carries the
# refresh token.
MAY_CARRY_ACCESS_TOKEN = {"kazaplan.enroll", "kazaplan.refresh_token", "home"}

# The one route where a valid CSRF token rightly changes a link: the
# shopper's own unlink.
CHANGES_OWN_LINK = {"kazaplan.unlink"}

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
NAMED_FIELDS = st.lists(
    st.tuples(st.sampled_from(PARAMETER_NAMES), ANY_TEXT), min_size=1, max_size=6
)
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
# A browser always sends a Host: the partner's own (where its cookies go) or
# any other. Any other header may be missing.
HEADERS = st.tuples(OTHER_HEADERS, st.just(PARTNER_HOST) | HOSTS).map(
    lambda pair: {**pair[0], "Host": pair[1]}
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(PARAMETER_NAMES) | st.text(max_size=8), inner)
    ),
    max_leaves=8,
)
# A JSON object of the fields the views read, each there or not, of any type.
JSON_FIELDS = st.fixed_dictionaries({}, optional=dict.fromkeys(PARAMETER_NAMES, JSON))
# A body as generated, before the CSRF token goes in: form fields stay pairs
# so that the token can join them.
BODIES = st.one_of(
    st.just(("raw", b"", None)),
    FIELDS.map(lambda pairs: ("form", pairs, CONTENT_TYPES[0])),
    JSON.map(lambda value: ("raw", json.dumps(value).encode(), "application/json")),
    st.tuples(st.just("raw"), st.binary(max_size=200), st.sampled_from(CONTENT_TYPES)),
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

    def __init__(self, webapp, user_id, secrets, may_carry=MAY_CARRY_ACCESS_TOKEN):
        self.webapp = webapp
        self.user_id = user_id
        self.may_carry = may_carry
        self.rows = self.links()
        link = webapp.link_of(user_id)
        self.access = link.access_token
        settings = webapp.settings
        self.authorize_url = settings.authorize_url
        self.never = {
            "client secret": {settings.client_secret},
            "session secret": {settings.session_secret},
            "token key": {key.strip() for key in settings.token_keys.split(",")},
            "refresh token": {link.tokens.refresh_token},
            **{kind: set(values) for kind, values in secrets.items()},
        }
        self.never.setdefault("state", set())
        self.never.setdefault("ticket", set())

    def links(self):
        with self.webapp.app.registry.dbsession_factory() as session:
            return session.execute(text("SELECT * FROM links ORDER BY user_id")).all()

    def put_links_back(self):
        with self.webapp.app.registry.dbsession_factory() as session:
            session.execute(text("DELETE FROM links"))
            for row in self.rows:
                values = row._asdict()
                columns = ", ".join(values)
                marks = ", ".join(f":{name}" for name in values)
                session.execute(
                    text(f"INSERT INTO links ({columns}) VALUES ({marks})"), values
                )
            session.commit()

    def check(self, route, response, own_token):
        assert response.status_int < 500, (route.name, response.status, response.text)
        shown = response.body + shown_headers(response, self.authorize_url)
        for kind, secrets in self.never.items():
            for secret in secrets:
                assert secret.encode() not in shown, (route.name, kind)
        if route.name not in self.may_carry:
            assert self.access.encode() not in shown, route.name
        self.remember_issued(response)
        links = self.links()
        if links != self.rows and own_token and route.name in CHANGES_OWN_LINK:
            others = [row for row in links if row.user_id != self.user_id]
            assert others == [row for row in self.rows if row.user_id != self.user_id]
            self.put_links_back()
            return
        assert links == self.rows, route.name

    def remember_issued(self, response):
        """The tickets and states this answer issues: no later answer may
        show them."""
        location = response.headers.get("Location", "")
        if location.startswith(self.authorize_url):
            self.never["state"].add(query_params(location)["state"])
        for ticket in issued_tickets(response):
            self.never["ticket"].add(ticket)


def shown_headers(response, authorize_url):
    # The redirect to Kazaplan carries the client secret, by Kazaplan's
    # design (kzlink.secret_in_authorize_url), and the state it issues.
    return str(
        [
            (name, value)
            for name, value in response.headerlist
            if not (name == "Location" and value.startswith(authorize_url))
        ]
    ).encode()


HANDOVER = re.compile(r'<script[^>]*id="kzlink-handover"[^>]*>(.*?)</script>', re.S)


def issued_tickets(response):
    """The enrollment tickets an answer hands out: a JSON ``ticket``, or the
    one in the hand-over page's data."""
    if response.content_type == "application/json":
        try:
            body = json.loads(response.body)
        except ValueError:
            return []
        ticket = body.get("ticket") if isinstance(body, dict) else None
        return [ticket] if isinstance(ticket, str) and ticket else []
    if response.content_type != "text/html":
        return []
    handover = HANDOVER.search(response.text)
    if handover is None:
        return []
    ticket = json.loads(handover.group(1)).get("ticket")
    return [ticket] if ticket else []


def link_noting_secrets(shopper, email, secrets):
    """Link ``shopper``, as ``Shopper.link`` does, noting the state, code and
    ticket of the authorization; then sign in again inside the frame, whose
    session the hand-over ended."""
    callback = walk_authorize(shopper.start_authorization())
    page = shopper.get(path_of(callback), status=303).follow(status=200)
    secrets.setdefault("state", set()).add(query_params(callback)["state"])
    secrets.setdefault("code", set()).add(query_params(callback)["code"])
    secrets.setdefault("ticket", set()).update(issued_tickets(page))
    shopper.log_in(email, framed=True)


def csrf_tokens(browser):
    """The CSRF tokens of the browser's two sessions: top level and frame."""
    return [browser.csrf_token(), browser.csrf_token(framed=True)]


@pytest.fixture(params=["signed-out", "linked"])
def visitor(request, webapp, kazaplan):
    """A browser, the CSRF tokens it may send (its own valid ones first), and
    what to compare after each request."""
    secrets = {}
    if request.param == "signed-out":
        # Someone else's link is in the table, to be left alone, and its
        # token shown to no stranger; their tokens are worth nothing here.
        owner, owner_id = framed_shopper(webapp, "owner@example.com")
        link_noting_secrets(owner, "owner@example.com", secrets)
        stranger = webapp.shopper()
        tokens = csrf_tokens(stranger) + csrf_tokens(owner)
        snapshot = Snapshot(webapp, owner_id, secrets, may_carry=set())
        return stranger, tokens[:2], tokens[2:], snapshot
    shopper, user_id = framed_shopper(webapp, "linked@example.com")
    link_noting_secrets(shopper, "linked@example.com", secrets)
    # Signed in in the frame and on the top-level pages alike.
    shopper.log_in("linked@example.com")
    snapshot = Snapshot(webapp, user_id, secrets)
    return shopper, csrf_tokens(shopper), [], snapshot


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
    browser, own_tokens, foreign, snapshot = visitor
    routes = routes_of(webapp.app)
    assert {"kazaplan.enroll", "kazaplan.callback", "login"} <= {r.name for r in routes}
    pages = pages_of(webapp.app.registry)
    past_csrf = {}

    for route in routes:
        # The widget's frame has a session of its own, hence its own token.
        framed = getattr(pages.get(route.name), "framing", None) == ALWAYS
        own = own_tokens[::-1] if framed else own_tokens
        requests = request_strategy(own, foreign)
        past_csrf[route.name] = fuzz_route(browser, snapshot, route, method, requests)

    if method == "POST":
        # The bodies did reach the views: each route with a POST view let
        # a good share of them past its CSRF check.
        posting = {"login", "register", "logout", *CHANGES_OWN_LINK}
        posting |= {"kazaplan.refresh_token", "kazaplan.enrollment_ticket"}
        posting |= {"kazaplan.enroll_ticket", "kazaplan.session_ticket"}
        few = EXAMPLES_PER_ROUTE // 5
        assert {name for name in posting if past_csrf.get(name, 0) < few} == set()


def request_strategy(own, foreign):
    """(headers, body, token, whether the token is the browser's own).

    Half of them are what this browser's own page would post, with garbage
    in the fields the views read: on the partner's host, with the token of the
    route's session (``own[0]``). The others are anything: any host, a token
    of either session, none, garbage or another browser's.
    """
    from_the_page = st.tuples(
        OTHER_HEADERS.map(lambda headers: {**headers, "Host": PARTNER_HOST}),
        st.one_of(
            NAMED_FIELDS.map(lambda pairs: ("form", pairs, CONTENT_TYPES[0])),
            JSON_FIELDS.map(
                lambda value: ("raw", json.dumps(value).encode(), "application/json")
            ),
        ),
        st.just(own[0]),
        st.just(True),
    )
    invalid = st.one_of(st.none(), HEADER_TEXT, st.sampled_from(foreign or [""]))
    tokens = st.one_of(
        st.sampled_from(own).map(lambda token: (token, True)),
        invalid.map(lambda token: (token, False)),
    )
    anything = st.tuples(HEADERS, BODIES, tokens).map(
        lambda drawn: (drawn[0], drawn[1], *drawn[2])
    )
    return from_the_page | anything


def fuzz_route(browser, snapshot, route, method, requests):
    """Run the examples on ``route``; return how many got past CSRF."""
    cookies = list(browser.app.cookiejar)
    passed = []

    @FUZZ
    @given(path=path_strategy(route), query=QUERIES, drawn=requests)
    def one_request(path, query, drawn):
        headers, body, token, own = drawn
        url = path + ("?" + query if query else "")
        payload, content_type = b"", None
        headers = dict(headers)
        if method == "POST":
            payload, content_type = with_token(body, token, headers)
        # The body goes as it is: WebTest would parse a multipart one itself.
        try:
            response = browser.request(
                url,
                method=method,
                headers=headers,
                body=payload,
                content_type=content_type or headers.get("Content-Type"),
                expect_errors=True,
            )
        finally:
            # Each request starts from the same sessions, whatever the last
            # one did to them.
            browser.app.cookiejar.clear()
            for cookie in cookies:
                browser.app.cookiejar.set_cookie(cookie)
        snapshot.check(route, response, own)
        if not refused_by_csrf(response):
            passed.append(url)

    one_request()
    return len(passed)


def with_token(body, token, headers):
    """The payload and its content type, the CSRF token in a form field for a
    form, else in the header (also set on ``headers``)."""
    kind, content, content_type = body
    if kind == "form":
        pairs = content if token is None else [*content, ("csrf_token", token)]
        return urlencode(pairs).encode(), content_type
    if token is not None:
        headers["X-CSRF-Token"] = token
    return content, content_type


def refused_by_csrf(response):
    return response.status_int == 403 and b"did not come from this site" in (
        response.body
    )
