"""Every way the OAuth callback can go wrong: a clear page with its status, never
a 500, and the stored link left as it was."""

import pytest

from kzlink.domain import errors
from kzlink.domain.model import LinkState
from tests.fixtures.simulator import query_params, walk_authorize
from tests.fixtures.webapp import closed_port_url, path_of

CALLBACK = "/kazaplan/oauth/callback"


def framed_shopper(webapp, email):
    shopper = webapp.shopper()
    shopper.register(email, framed=True)
    return shopper, webapp.user_id(email)


def shown(page) -> str:
    return page.html.find(id="error-message").get_text(strip=True)


def assert_error_page(page, status, error):
    assert page.status_int == status
    assert shown(page) == error.message
    # Inside the widget's frame the shopper can start again from enroll.
    assert path_of(page.html.find(id="try-again")["href"]) == "/kazaplan/enroll"
    assert "postMessage" not in page.text


def test_no_code(webapp, kazaplan):
    shopper, user_id = framed_shopper(webapp, "no-code@example.com")
    state = query_params(shopper.start_authorization())["state"]

    page = shopper.get(CALLBACK, {"state": state}, status=400)

    assert_error_page(page, 400, errors.CodeMissingError)
    assert webapp.link_of(user_id).state is LinkState.UNLINKED


def test_no_state(webapp, kazaplan):
    shopper, user_id = framed_shopper(webapp, "no-state@example.com")
    callback = walk_authorize(shopper.start_authorization())

    page = shopper.get(CALLBACK, {"code": query_params(callback)["code"]}, status=400)

    assert_error_page(page, 400, errors.StateMissingError)
    assert webapp.link_of(user_id).state is LinkState.UNLINKED


def test_unknown_state(webapp, kazaplan):
    shopper, user_id = framed_shopper(webapp, "unknown-state@example.com")
    code = query_params(walk_authorize(shopper.start_authorization()))["code"]

    page = shopper.get(CALLBACK, {"state": "made-up", "code": code}, status=400)

    assert_error_page(page, 400, errors.StateUnknownError)
    assert webapp.link_of(user_id).state is LinkState.UNLINKED


def test_expired_state(make_webapp, kazaplan):
    webapp = make_webapp(**{"kzlink.authorization_ttl": "0"})
    shopper, user_id = framed_shopper(webapp, "slowpoke@example.com")
    callback = walk_authorize(shopper.start_authorization())

    page = shopper.get(path_of(callback), status=400)

    assert_error_page(page, 400, errors.StateExpiredError)
    assert webapp.link_of(user_id).state is LinkState.UNLINKED


def test_reused_state(webapp, kazaplan):
    shopper, user_id = framed_shopper(webapp, "replay@example.com")
    callback = walk_authorize(shopper.start_authorization())
    shopper.get(path_of(callback), status=303)
    linked = webapp.link_of(user_id)

    page = shopper.get(path_of(callback), status=400)

    assert_error_page(page, 400, errors.StateUsedError)
    assert webapp.link_of(user_id) == linked


def test_access_denied(webapp, kazaplan):
    shopper, user_id = framed_shopper(webapp, "refuses@example.com")
    callback = walk_authorize(shopper.start_authorization(), decision="refuse")
    assert query_params(callback)["error"] == "access_denied"

    page = shopper.get(path_of(callback), status=403)

    assert_error_page(page, 403, errors.AuthorizationRefusedError)
    assert webapp.link_of(user_id).state is LinkState.UNLINKED


def test_code_refused_by_kazaplan(webapp, kazaplan):
    shopper, user_id = framed_shopper(webapp, "bad-code@example.com")
    state = query_params(shopper.start_authorization())["state"]

    page = shopper.get(CALLBACK, {"state": state, "code": "not-a-code"}, status=400)

    assert_error_page(page, 400, errors.CodeRefusedError)
    assert webapp.link_of(user_id).state is LinkState.UNLINKED


def test_kazaplan_down(make_webapp, kazaplan):
    webapp = make_webapp(**{"kzlink.kazaplan.api_url": closed_port_url()})
    shopper, user_id = framed_shopper(webapp, "down@example.com")
    callback = walk_authorize(shopper.start_authorization())

    page = shopper.get(path_of(callback), status=503)

    assert_error_page(page, 503, errors.KazaplanUnavailableError)
    assert page.headers["Retry-After"].isdigit()
    assert webapp.link_of(user_id).state is LinkState.UNLINKED


@pytest.mark.parametrize("fault", ["slow", "garbage", "error"])
def test_kazaplan_misbehaves(webapp, kazaplan, fault):
    shopper, user_id = framed_shopper(webapp, f"{fault}@example.com")
    callback = walk_authorize(shopper.start_authorization())
    kazaplan.sim.fault = fault

    page = shopper.get(path_of(callback), status=503)

    assert_error_page(page, 503, errors.KazaplanUnavailableError)
    assert webapp.link_of(user_id).state is LinkState.UNLINKED


def test_signed_out_between_authorize_and_callback(webapp, kazaplan):
    shopper, user_id = framed_shopper(webapp, "gone@example.com")
    callback = walk_authorize(shopper.start_authorization())
    # The frame's cookie is gone (expired, cleared): a browser without it.
    cookieless = webapp.shopper()

    page = cookieless.get(path_of(callback), status=401)

    assert_error_page(page, 401, errors.NotSignedInError)
    assert webapp.link_of(user_id).state is LinkState.UNLINKED


def test_state_of_another_user(webapp, kazaplan):
    victim, victim_id = framed_shopper(webapp, "victim@example.com")
    attacker, attacker_id = framed_shopper(webapp, "attacker@example.com")
    callback = walk_authorize(attacker.start_authorization())

    page = victim.get(path_of(callback), status=403)

    assert_error_page(page, 403, errors.StateMismatchError)
    assert webapp.link_of(victim_id).state is LinkState.UNLINKED
    assert webapp.link_of(attacker_id).state is LinkState.UNLINKED


def test_state_of_the_same_user_in_another_browser(webapp, kazaplan):
    started_here, user_id = framed_shopper(webapp, "two-browsers@example.com")
    callback = walk_authorize(started_here.start_authorization())
    # The same account, signed in on another browser, given that callback URL.
    elsewhere = webapp.shopper()
    elsewhere.log_in("two-browsers@example.com", framed=True)

    page = elsewhere.get(path_of(callback), status=403)

    assert_error_page(page, 403, errors.StateMismatchError)
    assert webapp.link_of(user_id).state is LinkState.UNLINKED
    # The state is spent: the browser that started it must start again.
    again = started_here.get(path_of(callback), status=400)
    assert_error_page(again, 400, errors.StateUsedError)


def test_two_tabs_of_one_browser_each_complete_their_authorization(webapp, kazaplan):
    shopper, user_id = framed_shopper(webapp, "two-tabs@example.com")
    first_tab = shopper.get("/kazaplan/enroll", status=302)
    second_tab = shopper.get("/kazaplan/enroll", status=302)
    first = walk_authorize(first_tab.headers["Location"])
    second = walk_authorize(second_tab.headers["Location"])

    # Starting an authorization leaves the signed-in session as it is, so two
    # tabs starting at once cannot overwrite each other's session cookie.
    assert "Set-Cookie" not in first_tab.headers
    assert "Set-Cookie" not in second_tab.headers
    shopper.get(path_of(second), status=303)
    shopper.get(path_of(first), status=303)
    assert webapp.link_of(user_id).state is LinkState.LINKED


def test_signing_in_again_ends_the_authorizations_in_flight(webapp, kazaplan):
    shopper, user_id = framed_shopper(webapp, "again@example.com")
    callback = walk_authorize(shopper.start_authorization())
    shopper.log_in("again@example.com", framed=True)

    page = shopper.get(path_of(callback), status=403)

    assert_error_page(page, 403, errors.StateMismatchError)
    assert webapp.link_of(user_id).state is LinkState.UNLINKED


def test_kazaplan_account_linked_to_another_user(webapp, kazaplan):
    first, first_id = framed_shopper(webapp, "first@example.com")
    first.link()
    first_link = webapp.link_of(first_id)
    second, second_id = framed_shopper(webapp, "second@example.com")
    callback = walk_authorize(second.start_authorization(), "first@example.com")

    page = second.get(path_of(callback), status=409)

    assert_error_page(page, 409, errors.AccountLinkedElsewhereError)
    assert webapp.link_of(second_id).state is LinkState.UNLINKED
    assert webapp.link_of(first_id) == first_link


@pytest.mark.parametrize(
    "query",
    [
        "state=%ff%fe&code=x",
        "state=a&state=b&code=x",
        "state=" + "s" * 5000 + "&code=x",
        "code=" + "c" * 5000 + "&state=x",
    ],
    ids=["not-utf8", "twice", "huge-state", "huge-code"],
)
def test_malformed_callback_is_a_bad_request(webapp, kazaplan, query):
    shopper, user_id = framed_shopper(webapp, "malformed@example.com")

    page = shopper.get(CALLBACK + "?" + query, status=400)

    assert page.html.find(id="error-message")
    assert webapp.link_of(user_id).state is LinkState.UNLINKED
