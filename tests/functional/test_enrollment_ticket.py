"""Carrying the planner page's signed-in shopper into the enroll frame, and a
shopper who signed in inside the frame back to the partner's top-level pages.

``shopper`` is the top-level browsing context; ``frame`` the enroll iframe,
whose cookies live in another partition: a separate cookie jar (or, where one
browser holds both sessions, the ``access_method=kazaplan`` look of a page).
"""

import json

import pytest

from kzlink.domain.model import LinkState
from tests.fixtures.simulator import query_params, walk_authorize
from tests.fixtures.webapp import path_of

ISSUE = "/kazaplan/enrollment_ticket"


@pytest.fixture
def shopper(webapp):
    shopper = webapp.shopper()
    shopper.register("ticket@example.com")
    return shopper


def issue(shopper, status=200):
    token = shopper.planner_config()["csrfToken"]
    return shopper.post(ISSUE, headers={"X-CSRF-Token": token}, status=status)


def redeem(frame, ticket, status=303):
    form = frame.get("/kazaplan/enroll", status=200).forms["kzlink-ticket-form"]
    form["ticket"] = ticket
    return form.submit(status=status)


def test_ticket_signs_the_frame_in(webapp, kazaplan, shopper):
    answer = issue(shopper)
    assert answer.headers["Cache-Control"] == "no-store"
    assert set(answer.json) == {"ticket", "expires_at"}
    frame = webapp.shopper()

    redeemed = redeem(frame, answer.json["ticket"])

    assert path_of(redeemed.headers["Location"]) == "/kazaplan/enroll"
    assert answer.json["ticket"] not in redeemed.headers["Location"]
    authorize_url = frame.get("/kazaplan/enroll", status=302).headers["Location"]
    assert query_params(authorize_url)["email"] == "ticket@example.com"
    assert answer.json["ticket"] not in authorize_url

    frame.get(path_of(walk_authorize(authorize_url)), status=303).follow(status=200)
    user_id = webapp.user_id("ticket@example.com")
    assert webapp.link_of(user_id).state is LinkState.LINKED


def test_ticket_works_once(webapp, kazaplan, shopper):
    ticket = issue(shopper).json["ticket"]
    redeem(webapp.shopper(), ticket)
    other_frame = webapp.shopper()

    refused = redeem(other_frame, ticket)

    assert query_params(refused.headers["Location"]) == {
        "access_method": "kazaplan",
        "next": "/kazaplan/enroll",
    }
    # Still signed out: enroll asks for a ticket again.
    other_frame.get("/kazaplan/enroll", status=200).forms["kzlink-ticket-form"]


@pytest.mark.parametrize("ticket", ["", "made-up"])
def test_invalid_ticket_goes_to_login(webapp, ticket):
    frame = webapp.shopper()

    refused = redeem(frame, ticket)

    assert path_of(refused.headers["Location"]).startswith("/login?")
    assert query_params(refused.headers["Location"])["access_method"] == "kazaplan"


def test_huge_ticket_is_a_bad_request(webapp):
    refused = redeem(webapp.shopper(), "x" * 5000, status=400)

    assert refused.html.find(id="error-message")


def test_no_ticket_when_signed_out(webapp):
    stranger = webapp.shopper()

    answer = issue(stranger, status=401)

    assert answer.json["error"] == "not_signed_in"


def test_ticket_needs_the_csrf_header(webapp, shopper):
    answer = shopper.post(ISSUE, status=403)

    assert answer.json["error"] == "csrf_failed"


def test_redeeming_needs_the_frames_csrf_token(webapp, shopper):
    ticket = issue(shopper).json["ticket"]
    frame = webapp.shopper()
    frame.get("/kazaplan/enroll", status=200)

    frame.post("/kazaplan/enroll/ticket", {"ticket": ticket}, status=403)


# The other way: a shopper who signed in inside the frame, carried back to the
# partner's top-level pages by the hand-over page.

SIGN_IN = "/kazaplan/session_ticket"


@pytest.fixture
def frame(webapp, kazaplan):
    frame = webapp.shopper()
    frame.register("frame@example.com", framed=True)
    return frame


def hand_over(frame):
    """Link inside the frame; return the hand-over page."""
    return frame.link()


def handed_over_ticket(frame) -> str:
    page = hand_over(frame)
    return json.loads(page.html.find(id="kzlink-handover").string)["ticket"]


def sign_in_top(top, ticket, status=200):
    token = top.csrf_token()
    return top.post_json(
        SIGN_IN, {"ticket": ticket}, headers={"X-CSRF-Token": token}, status=status
    )


def signed_in_email(browser):
    """The email /account shows, or None when it asks to sign in first."""
    page = browser.get("/account")
    if page.status_int != 200:
        return None
    return page.html.find(id="partner-email").get_text(strip=True)


def test_the_frame_ticket_signs_the_top_level_in(webapp, frame):
    page = hand_over(frame)
    assert page.headers["Cache-Control"] == "no-store"
    ticket = json.loads(page.html.find(id="kzlink-handover").string)["ticket"]
    top = webapp.shopper()
    assert signed_in_email(top) is None

    signed_in = sign_in_top(top, ticket)

    assert signed_in.headers["Cache-Control"] == "no-store"
    assert signed_in.json["signed_in"] is True
    assert signed_in.json["email"] == "frame@example.com"
    assert signed_in_email(top) == "frame@example.com"
    # Signing in renewed the CSRF token; the answer gives the new one.
    assert signed_in.json["csrf_token"] == top.csrf_token()
    assert top.planner_config()["signedIn"] is True


def test_the_frame_ticket_is_for_the_frames_user(webapp, frame):
    # The same browser is signed in as someone else at the top level.
    frame.register("top@example.com")

    ticket = handed_over_ticket(frame)
    elsewhere = webapp.shopper()
    sign_in_top(elsewhere, ticket)

    assert signed_in_email(elsewhere) == "frame@example.com"
    assert signed_in_email(frame) == "top@example.com"


def test_the_frame_ticket_works_once(webapp, frame):
    ticket = handed_over_ticket(frame)
    sign_in_top(webapp.shopper(), ticket)
    other = webapp.shopper()

    refused = sign_in_top(other, ticket, status=403)

    assert refused.json["error"] == "ticket_invalid"
    assert signed_in_email(other) is None


@pytest.mark.parametrize("body", [{}, {"ticket": ""}, {"ticket": "made-up"}])
def test_an_invalid_ticket_signs_no_one_in(webapp, body):
    top = webapp.shopper()
    headers = {"X-CSRF-Token": top.csrf_token()}

    refused = top.post_json(SIGN_IN, body, headers=headers, status=403)

    assert refused.json["error"] == "ticket_invalid"
    assert signed_in_email(top) is None


@pytest.mark.parametrize("body", [{"ticket": 7}, {"ticket": "x" * 5000}, ["x"]])
def test_a_malformed_ticket_is_a_bad_request(webapp, body):
    top = webapp.shopper()
    headers = {"X-CSRF-Token": top.csrf_token()}

    refused = top.post_json(SIGN_IN, body, headers=headers, status=400)

    assert refused.json["error"] == "bad_request"


def test_signing_in_at_the_top_needs_the_csrf_header(webapp, frame):
    ticket = handed_over_ticket(frame)
    top = webapp.shopper()
    top.csrf_token()

    refused = top.post_json(SIGN_IN, {"ticket": ticket}, status=403)

    assert refused.json["error"] == "csrf_failed"
    assert signed_in_email(top) is None
    # Refused before reaching the ticket: it still works.
    sign_in_top(top, ticket)
    assert signed_in_email(top) == "frame@example.com"


def test_a_ticket_in_the_url_is_ignored(webapp, frame):
    ticket = handed_over_ticket(frame)
    top = webapp.shopper()
    headers = {"X-CSRF-Token": top.csrf_token()}

    refused = top.post(f"{SIGN_IN}?ticket={ticket}", headers=headers, status=403)

    assert refused.json["error"] == "ticket_invalid"

    assert signed_in_email(top) is None
    sign_in_top(top, ticket)
    assert signed_in_email(top) == "frame@example.com"


def test_a_top_level_signed_in_as_another_user_is_not_switched(webapp, frame):
    ticket = handed_over_ticket(frame)
    top = webapp.shopper()
    top.register("someone-else@example.com")
    token = top.csrf_token()

    refused = sign_in_top(top, ticket, status=409)

    assert refused.json["error"] == "signed_in_as_another_user"
    assert signed_in_email(top) == "someone-else@example.com"
    assert top.csrf_token() == token
    # The refused ticket is spent all the same.
    sign_in_top(webapp.shopper(), ticket, status=403)


def test_a_top_level_session_of_a_deleted_user_counts_as_signed_out(webapp, frame):
    ticket = handed_over_ticket(frame)
    top = webapp.shopper()
    top.register("gone@example.com")
    webapp.delete_user("gone@example.com")

    sign_in_top(top, ticket)

    assert signed_in_email(top) == "frame@example.com"


def test_the_same_user_stays_signed_in(webapp, frame):
    frame.log_in("frame@example.com")
    token = frame.csrf_token()

    answer = sign_in_top(frame, handed_over_ticket(frame))

    assert answer.json["csrf_token"] == token
    assert signed_in_email(frame) == "frame@example.com"
