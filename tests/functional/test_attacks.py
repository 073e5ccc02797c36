"""A hostile browser against the real app: what the other functional tests do
not already try.

Forged, replayed and expired states are in test_callback_errors.py, the
framing headers of each kind of page and ``next`` on the login page in
test_demo_site.py, the CSRF token of each known form there and of the JSON
endpoints in test_refresh_and_unlink.py and test_enrollment_ticket.py. Here:
a code swapped between two authorizations, the hand-over page's framing,
every postMessage target, ``next`` on the other forms, CSRF on every POST
route the app has, and password guessing.
"""

import re
from datetime import timedelta
from importlib import resources

import pytest
from pyramid.interfaces import IRoutesMapper
from sqlalchemy import select

from kzlink.adapters.sql.models import LoginFailureRow
from kzlink.adapters.sql.throttle import ACCOUNT_LIMIT, ADDRESS_LIMIT, WINDOW
from kzlink.domain import errors
from kzlink.domain.model import LinkState
from tests.fixtures.simulator import query_params, walk_authorize
from tests.fixtures.webapp import (
    PASSWORD,
    WIDGET_ORIGIN,
    path_of,
)
from tests.functional.test_callback_errors import assert_error_page, framed_shopper
from tests.functional.test_demo_site import EVIL_NEXT, FRAMED

CALLBACK = "/kazaplan/oauth/callback"
TOO_MANY = "Too many attempts, try again in a few minutes."


def code_of_another_authorization(webapp, email):
    """B starts an authorization and gets a code at Kazaplan, but has not come
    back yet (the code leaked on the way: a log, a proxy, a malicious app)."""
    victim, victim_id = framed_shopper(webapp, email)
    callback = walk_authorize(victim.start_authorization())
    return victim, victim_id, callback


# A code swapped into another authorization.


def test_someone_elses_code_is_refused_with_pkce(webapp, kazaplan):
    attacker, attacker_id = framed_shopper(webapp, "a@example.com")
    victim, victim_id, victims_callback = code_of_another_authorization(
        webapp, "b@example.com"
    )
    state = query_params(attacker.start_authorization())["state"]
    stolen = query_params(victims_callback)["code"]

    page = attacker.get(CALLBACK, {"state": state, "code": stolen}, status=400)

    # Kazaplan checks the verifier of A's authorization against the challenge
    # B's code was issued for: they differ, so the exchange is refused.
    assert_error_page(page, 400, errors.CodeRefusedError)
    assert webapp.link_of(attacker_id).state is LinkState.UNLINKED
    # The refused attempt did not spend B's code: B still links.
    victim.get(path_of(victims_callback), status=303)
    assert webapp.link_of(victim_id).state is LinkState.LINKED


def test_a_linked_shoppers_link_survives_a_swapped_code(webapp, kazaplan):
    shopper, user_id = framed_shopper(webapp, "linked-a@example.com")
    shopper.link()
    webapp.expire_stored_token(user_id)
    kazaplan.sim.revoke_refresh_tokens()
    # The link is broken: enroll authorizes again.
    state = query_params(shopper.start_authorization())["state"]
    before = webapp.link_of(user_id)
    _, _, other = code_of_another_authorization(webapp, "other-b@example.com")

    code = query_params(other)["code"]
    shopper.get(CALLBACK, {"state": state, "code": code}, status=400)

    assert webapp.link_of(user_id) == before
    assert before.state is LinkState.BROKEN


def test_someone_elses_spent_code_is_refused_without_pkce(make_webapp, kazaplan):
    # Without PKCE a code is good for whoever exchanges it first, with any
    # state of theirs: a code stolen before B comes back would link A to B's
    # Kazaplan account. What remains: the code only travels in B's redirect
    # (no-store, no referrer), lives a minute and works once, so once B is back
    # it is worthless, as below; and no one can push a code into A's own
    # callback without A's state, which only A's browser and Kazaplan see.
    webapp = make_webapp(**{"kzlink.pkce": "false"})
    attacker, attacker_id = framed_shopper(webapp, "a@example.com")
    victim, victim_id, victims_callback = code_of_another_authorization(
        webapp, "b@example.com"
    )
    victim.get(path_of(victims_callback), status=303)
    victims_link = webapp.link_of(victim_id)
    authorize_url = attacker.start_authorization()
    assert "code_challenge" not in query_params(authorize_url)
    state = query_params(authorize_url)["state"]

    stolen = query_params(victims_callback)["code"]
    page = attacker.get(CALLBACK, {"state": state, "code": stolen}, status=400)

    assert_error_page(page, 400, errors.CodeRefusedError)
    assert webapp.link_of(attacker_id).state is LinkState.UNLINKED
    assert webapp.link_of(victim_id) == victims_link


# Framing and postMessage.


def test_the_hand_over_page_may_be_framed_by_the_widget_only(webapp, kazaplan):
    shopper, _ = framed_shopper(webapp, "framed@example.com")

    page = shopper.link()

    assert page.headers["Content-Security-Policy"] == FRAMED
    assert "X-Frame-Options" not in page.headers
    assert page.headers["Cache-Control"] == "no-store"


POST_MESSAGE = re.compile(r"(?:([\w$.\[\]]+)\s*\.\s*)?\bpostMessage\s*\(")
CLOSING = {"(": ")", "[": "]", "{": "}"}


def without_comments(script):
    """The script with its comments blanked, strings left as they are, so
    that a postMessage named in a comment is not read as a call."""
    out, i = [], 0
    while i < len(script):
        char, pair = script[i], script[i : i + 2]
        if pair in ("//", "/*"):
            close = "\n" if pair == "//" else "*/"
            stop = script.find(close, i + 2)
            stop = len(script) if stop < 0 else stop + len(close)
            out.append(re.sub(r"[^\n]", " ", script[i:stop]))
            i = stop
        elif char in "'\"`":
            stop = end_of_string(script, i)
            out.append(script[i:stop])
            i = stop
        else:
            out.append(char)
            i += 1
    return "".join(out)


def end_of_string(script, start):
    quote, i = script[start], start + 1
    while i < len(script) and script[i] != quote:
        i += 2 if script[i] == "\\" else 1
    return i + 1


def call_arguments(script, start):
    """The top-level arguments of the call whose ``(`` is at ``start``, read
    over any number of lines, up to the matching ``)``."""
    arguments, current, open_, i = [], [], [], start + 1
    while i < len(script):
        char = script[i]
        if char in "'\"`":
            stop = end_of_string(script, i)
            current.append(script[i:stop])
            i = stop
            continue
        if char == ")" and not open_:
            arguments.append("".join(current).strip())
            return [argument for argument in arguments if argument]
        if char in CLOSING:
            open_.append(CLOSING[char])
        elif open_ and char == open_[-1]:
            open_.pop()
        if char == "," and not open_:
            arguments.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        i += 1
    raise AssertionError(f"unclosed postMessage( at {start}: {script[start:][:80]}")


def post_message_calls(script):
    """(receiver, target) of each postMessage call; the target is None when
    the call passes the message alone (a BroadcastChannel's), and a local
    alias (``var widget = config.widgetOrigin``) is read through."""
    for match in POST_MESSAGE.finditer(script):
        arguments = call_arguments(script, match.end() - 1)
        target = " ".join(arguments[1].split()) if len(arguments) > 1 else None
        if target and re.fullmatch(r"[\w$]+", target):
            aliases = re.findall(
                rf"\b(?:var|let|const)\s+{re.escape(target)}\s*=\s*([^;]+);", script
            )
            if len(aliases) == 1:
                target = " ".join(aliases[0].split())
        yield match.group(1) or "", target


def scripts_and_templates():
    web = resources.files("kzlink.web")
    for folder in ("static", "templates"):
        for item in (web / folder).iterdir():
            if item.name.endswith((".js", ".jinja2")):
                source = item.read_text()
                if item.name.endswith(".js"):
                    source = without_comments(source)
                yield f"{folder}/{item.name}", source


def test_the_post_message_scan_reads_calls_over_several_lines():
    script = without_comments(
        "// window.top.postMessage(commented, '*');\n"
        "var origin = config.widgetOrigin;\n"
        "window.parent\n"
        "  .postMessage(\n"
        "    { name: 'a, b', nested: f(1, [2, 3]) },\n"
        "    origin\n"
        "  );\n"
        "frames[0].postMessage({ text: 'it\\'s )' },\n"
        "  '*');\n"
        "channel.postMessage({ name: 'unlinked' });\n"
    )

    assert list(post_message_calls(script)) == [
        ("window.parent", "config.widgetOrigin"),
        ("frames[0]", "'*'"),
        ("channel", None),
    ]


def test_every_post_message_names_its_target_origin():
    calls = set()
    for name, source in scripts_and_templates():
        for receiver, target in post_message_calls(source):
            assert target not in ("'*'", '"*"', "`*`"), (name, receiver)
            calls.add((name, receiver, target))

    # The token goes to the widget's origin; the ticket handshakes (planner to
    # frame, hand-over to planner) stay on the partner's own origin; nothing is
    # ever posted to '*'. A BroadcastChannel
    # (the unlink notice) reaches this origin's pages only, and has no target.
    own = "window.location.origin"
    assert calls == {
        ("static/handover.js", "window.parent", "config.widgetOrigin"),
        ("static/handover.js", "window.top", own),
        ("static/handshake.js", "window.top", own),
        ("static/planner.js", "source", own),
        ("static/account.js", "channel", None),
    }


def test_the_hand_over_names_the_configured_widget_origin(make_webapp, kazaplan):
    webapp = make_webapp(**{"kzlink.widget_origin": "https://widget.example"})
    shopper, _ = framed_shopper(webapp, "origin@example.com")

    page = shopper.link()

    assert '"widgetOrigin": "https://widget.example"' in page.text
    assert WIDGET_ORIGIN not in page.text


@pytest.mark.parametrize(
    "forged",
    [
        {"X-Forwarded-Host": "evil.test", "X-Forwarded-Proto": "https"},
        {"Forwarded": "host=evil.test;proto=https"},
    ],
)
def test_forged_host_headers_do_not_move_the_redirect_uri(webapp, kazaplan, forged):
    # Whatever a client or a misconfigured proxy claims, the redirect URI comes
    # from kzlink.public_url.
    shopper, _ = framed_shopper(webapp, "host@example.com")

    sent = shopper.get("/kazaplan/enroll", headers=forged, status=302)

    params = query_params(sent.headers["Location"])
    assert params["redirect_uri"] == "http://partner.test/kazaplan/oauth/callback"


# Open redirects through next on the other forms.


@pytest.mark.parametrize("next_path", EVIL_NEXT)
def test_next_of_register_never_leaves_the_site(webapp, next_path):
    visitor = webapp.shopper()

    registered = visitor.register("reg-next@example.com", next=next_path)

    assert registered.headers["Location"] == "http://partner.test/"


@pytest.mark.parametrize("next_path", EVIL_NEXT)
def test_next_of_unlink_never_leaves_the_site(webapp, next_path):
    visitor = webapp.shopper()
    visitor.register("unlink-next@example.com")
    token = visitor.csrf_token()

    fields = {"csrf_token": token, "next": next_path}
    unlinked = visitor.post("/kazaplan/unlink", fields, status=303)

    assert unlinked.headers["Location"] == "http://partner.test/account"


# CSRF on every POST route.


def post_routes(app) -> set[str]:
    """The routes with a view that accepts POST, from the app's own views."""
    names = set()
    for view in app.registry.introspector.get_category("views"):
        spec = view["introspectable"]
        methods = spec["request_methods"]
        route = spec["route_name"]
        if spec["exception_only"] or not route or route.startswith("__"):
            continue
        if methods is None or "POST" in methods:
            names.add(route)
    return names


def test_every_post_route_refuses_a_post_without_its_csrf_token(webapp, kazaplan):
    shopper, user_id = framed_shopper(webapp, "csrf@example.com")
    shopper.link()
    shopper.log_in("csrf@example.com")
    link = webapp.link_of(user_id)
    expected = post_routes(webapp.app)
    assert {"login", "kazaplan.refresh_token", "kazaplan.unlink"} <= expected

    refused = set()
    for route in plain_routes(webapp.app):
        for fields in ({}, {"csrf_token": "forged"}):
            answer = shopper.post(
                route.generate({}),
                fields,
                headers={"Origin": "http://evil.test"},
                expect_errors=True,
            )
            assert answer.status_int in (403, 404), (route.name, answer.status)
            if answer.status_int == 403:
                refused.add(route.name)

    assert refused == expected
    assert webapp.link_of(user_id) == link
    assert shopper.get("/account").status_int == 200


def plain_routes(app):
    """The app's routes, but static files'."""
    mapper = app.registry.getUtility(IRoutesMapper)
    return [route for route in mapper.get_routes() if not route.name.startswith("__")]


# Password guessing.


def attempt(visitor, email, password, address="192.0.2.1", **environ):
    """One sign-in post from ``address``, with a valid CSRF token."""
    token = visitor.csrf_token()
    environ = {"REMOTE_ADDR": address, **environ}
    return visitor.post(
        "/login",
        {"email": email, "password": password, "csrf_token": token},
        extra_environ=environ,
        expect_errors=True,
    )


def message_of(page) -> str:
    found = page.html.find(id="error-message") or page.html.find(id="form-error")
    return found.get_text(strip=True)


def test_guessing_one_accounts_password_hits_the_bound(webapp):
    webapp.shopper().register("target@example.com")
    guesser = webapp.shopper()
    for number in range(ACCOUNT_LIMIT):
        assert (
            attempt(guesser, "target@example.com", f"guess {number}").status_int == 400
        )

    # Even the right password, and from another address.
    refused = attempt(guesser, "target@example.com", PASSWORD, "198.51.100.2")

    assert refused.status_int == 429
    assert message_of(refused) == TOO_MANY
    assert refused.headers["Retry-After"] == str(int(WINDOW.total_seconds()))
    assert guesser.get("/account").status_int == 303


def test_the_bound_says_nothing_about_whether_the_account_exists(webapp):
    webapp.shopper().register("exists@example.com")
    guesser = webapp.shopper()
    answers = {}
    for email in ("exists@example.com", "nobody@example.com"):
        for number in range(ACCOUNT_LIMIT):
            attempt(guesser, email, f"guess {number}", f"192.0.2.{len(answers) + 10}")
        answers[email] = attempt(guesser, email, PASSWORD, "192.0.2.99")

    known, unknown = answers["exists@example.com"], answers["nobody@example.com"]
    assert known.status_int == unknown.status_int == 429
    assert message_of(known) == message_of(unknown) == TOO_MANY
    assert known.text == unknown.text


def test_guessing_across_accounts_from_one_address_hits_the_bound(webapp):
    webapp.shopper().register("innocent@example.com")
    guesser = webapp.shopper()
    for number in range(ADDRESS_LIMIT):
        attempt(guesser, f"user{number}@example.com", "password123", "192.0.2.7")

    refused = attempt(guesser, "innocent@example.com", PASSWORD, "192.0.2.7")
    # A forged X-Forwarded-For does not make the guesser someone else.
    forged = attempt(
        guesser,
        "innocent@example.com",
        PASSWORD,
        "192.0.2.7",
        HTTP_X_FORWARDED_FOR="203.0.113.50",
    )
    elsewhere = attempt(webapp.shopper(), "innocent@example.com", PASSWORD, "192.0.2.8")

    assert refused.status_int == forged.status_int == 429
    assert message_of(refused) == TOO_MANY
    assert elsewhere.status_int == 303


def test_the_bound_lifts_after_the_window(webapp):
    webapp.shopper().register("patient@example.com")
    shopper = webapp.shopper()
    for number in range(ACCOUNT_LIMIT):
        attempt(shopper, "patient@example.com", f"typo {number}")
    assert attempt(shopper, "patient@example.com", PASSWORD).status_int == 429

    age_failures(webapp, WINDOW + timedelta(seconds=1))

    assert attempt(shopper, "patient@example.com", PASSWORD).status_int == 303


def test_a_success_forgets_the_accounts_failures(webapp):
    webapp.shopper().register("typist@example.com")
    shopper = webapp.shopper()

    # Twice the limit of typos in the window, each run ended by a success.
    for _ in range(2):
        for number in range(ACCOUNT_LIMIT - 1):
            assert (
                attempt(shopper, "typist@example.com", f"typo {number}").status_int
                == 400
            )
        assert attempt(shopper, "typist@example.com", PASSWORD).status_int == 303


def test_a_refused_post_records_no_failure(webapp):
    # Without its CSRF token a post never reaches the password check.
    guesser = webapp.shopper()
    guesser.get("/login")
    for _ in range(ACCOUNT_LIMIT + 1):
        guesser.post("/login", {"email": "x@example.com", "password": "p"}, status=403)

    webapp.shopper().register("x@example.com")
    assert attempt(webapp.shopper(), "x@example.com", PASSWORD).status_int == 303


def age_failures(webapp, by):
    """Move every recorded failure ``by`` into the past."""
    with webapp.app.registry.dbsession_factory.begin() as session:
        for row in session.execute(select(LoginFailureRow)).scalars():
            row.failed_at -= by


# Malformed bodies.


@pytest.mark.parametrize(
    "path", ["/login", "/kazaplan/refresh_token", "/kazaplan/enroll/ticket"]
)
def test_a_multipart_post_without_boundary_is_a_bad_request(webapp, path):
    visitor = webapp.shopper()

    answer = visitor.request(
        path,
        method="POST",
        body=b"--x\r\n",
        content_type="multipart/form-data",
        expect_errors=True,
    )

    assert answer.status_int == 400
