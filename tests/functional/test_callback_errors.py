"""Every way the OAuth callback can go wrong: a clear page with its status, never
a 500, and the stored link left as it was."""

from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from kzlink.domain import errors
from kzlink.domain.model import Link, LinkState
from tests.fixtures.simulator import KazaplanServer, query_params, walk_authorize
from tests.fixtures.webapp import Shopper, WebApp, closed_port_url, path_of

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


# The same failures for a shopper who already has a link: it must survive them.


@contextmanager
def served_by(shopper, webapp):
    """The same browser, talking to another build of the app (same database)."""
    usual = shopper.app.app
    shopper.app.app = webapp.app
    try:
        yield
    finally:
        shopper.app.app = usual


@dataclass
class ExistingLink:
    """A framed shopper about to fail a callback while their link is ``state``."""

    webapp: WebApp
    make_webapp: object
    kazaplan: KazaplanServer
    shopper: Shopper
    user_id: str
    state: LinkState
    before: Link | None = None

    def set_up(self):
        """Give the shopper their link, after the failing authorization started:
        once linked, enroll hands over a token instead of starting one."""
        # A reused state has already linked the shopper on its first use. The
        # hand-over page is not shown: it ends the frame's session, and so the
        # authorization in flight, which must fail for its own reason instead.
        if self.webapp.link_of(self.user_id).state is not LinkState.LINKED:
            callback = walk_authorize(self.shopper.start_authorization())
            self.shopper.get(path_of(callback), status=303)

        if self.state is LinkState.BROKEN:
            # Broken as in the field: enroll's refresh is refused by Kazaplan.
            self.webapp.expire_stored_token(self.user_id)
            self.kazaplan.sim.revoke_refresh_tokens()
            self.shopper.start_authorization()

        self.before = self.webapp.link_of(self.user_id)
        assert self.before.state is self.state
        assert self.before.kazaplan_user_id is not None


def fails_without_code(link):
    state = query_params(link.shopper.start_authorization())["state"]
    link.set_up()
    return link.shopper.get(CALLBACK, {"state": state}, status=400)


def fails_without_state(link):
    code = query_params(walk_authorize(link.shopper.start_authorization()))["code"]
    link.set_up()
    return link.shopper.get(CALLBACK, {"code": code}, status=400)


def fails_with_unknown_state(link):
    code = query_params(walk_authorize(link.shopper.start_authorization()))["code"]
    link.set_up()
    return link.shopper.get(CALLBACK, {"state": "made-up", "code": code}, status=400)


def fails_with_expired_state(link):
    expiring = link.make_webapp(**{"kzlink.authorization_ttl": "0"})
    with served_by(link.shopper, expiring):
        callback = walk_authorize(link.shopper.start_authorization())
    link.set_up()
    return link.shopper.get(path_of(callback), status=400)


def fails_with_reused_state(link):
    callback = walk_authorize(link.shopper.start_authorization())
    link.shopper.get(path_of(callback), status=303)
    link.set_up()
    return link.shopper.get(path_of(callback), status=400)


def fails_when_refused(link):
    authorize = link.shopper.start_authorization()
    callback = walk_authorize(authorize, decision="refuse")
    link.set_up()
    return link.shopper.get(path_of(callback), status=403)


def fails_with_refused_code(link):
    state = query_params(link.shopper.start_authorization())["state"]
    link.set_up()
    query = {"state": state, "code": "not-a-code"}
    return link.shopper.get(CALLBACK, query, status=400)


def fails_with_kazaplan_down(link):
    callback = walk_authorize(link.shopper.start_authorization())
    link.set_up()
    down = link.make_webapp(**{"kzlink.kazaplan.api_url": closed_port_url()})
    with served_by(link.shopper, down):
        return link.shopper.get(path_of(callback), status=503)


def misbehaving_kazaplan(fault):
    def fails_with_misbehaving_kazaplan(link):
        callback = walk_authorize(link.shopper.start_authorization())
        link.set_up()
        link.kazaplan.sim.fault = fault
        return link.shopper.get(path_of(callback), status=503)

    return fails_with_misbehaving_kazaplan


def fails_when_signed_out(link):
    callback = walk_authorize(link.shopper.start_authorization())
    link.set_up()
    cookieless = link.webapp.shopper()
    return cookieless.get(path_of(callback), status=401)


def fails_with_account_linked_elsewhere(link):
    other, _ = framed_shopper(link.webapp, "taken@example.com")
    other.link()
    authorize = link.shopper.start_authorization()
    callback = walk_authorize(authorize, "taken@example.com")
    link.set_up()
    return link.shopper.get(path_of(callback), status=409)


FAILURES = [
    pytest.param(fails_without_code, 400, errors.CodeMissingError, id="no-code"),
    pytest.param(fails_without_state, 400, errors.StateMissingError, id="no-state"),
    pytest.param(
        fails_with_unknown_state, 400, errors.StateUnknownError, id="unknown-state"
    ),
    pytest.param(
        fails_with_expired_state, 400, errors.StateExpiredError, id="expired-state"
    ),
    pytest.param(fails_with_reused_state, 400, errors.StateUsedError, id="reused"),
    pytest.param(
        fails_when_refused, 403, errors.AuthorizationRefusedError, id="access-denied"
    ),
    pytest.param(
        fails_with_refused_code, 400, errors.CodeRefusedError, id="code-refused"
    ),
    pytest.param(
        fails_with_kazaplan_down,
        503,
        errors.KazaplanUnavailableError,
        id="kazaplan-down",
    ),
    *[
        pytest.param(
            misbehaving_kazaplan(fault),
            503,
            errors.KazaplanUnavailableError,
            id=f"kazaplan-{fault}",
        )
        for fault in ("slow", "garbage", "error")
    ],
    pytest.param(fails_when_signed_out, 401, errors.NotSignedInError, id="signed-out"),
    pytest.param(
        fails_with_account_linked_elsewhere,
        409,
        errors.AccountLinkedElsewhereError,
        id="account-linked-elsewhere",
    ),
]


@pytest.mark.parametrize(
    "state", [LinkState.LINKED, LinkState.BROKEN], ids=lambda state: state.value
)
@pytest.mark.parametrize(("fail", "status", "error"), FAILURES)
def test_failure_leaves_an_existing_link_as_it_was(
    webapp, make_webapp, kazaplan, state, fail, status, error
):
    shopper, user_id = framed_shopper(webapp, "has-a-link@example.com")
    link = ExistingLink(webapp, make_webapp, kazaplan, shopper, user_id, state)

    page = fail(link)

    assert_error_page(page, status, error)
    assert link.before is not None, "the failure never set the link up"
    assert webapp.link_of(user_id) == link.before
