"""Carrying the planner page's signed-in shopper into the enroll frame.

``shopper`` is the top-level browsing context; ``frame`` the enroll iframe,
whose cookies live in another partition: a separate cookie jar.
"""

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
