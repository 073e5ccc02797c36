"""The demo partner site: accounts, redirects after sign-in, CSRF, the planner
page, the account page, and the headers of every kind of page."""

import json

import pytest

from kzlink.domain.model import LinkState
from tests.fixtures.webapp import (
    PASSWORD,
    WIDGET_ORIGIN,
    WIDGET_SCRIPT_URL,
    path_of,
)

EVIL_NEXT = [
    "http://evil.test/",
    "https://evil.test",
    "//evil.test",
    "///evil.test",
    "/\\evil.test",
    "\\\\evil.test",
    "/%2Fevil.test",
    "%2F%2Fevil.test",
    "/%5Cevil.test",
    "/%252F%252Fevil.test",
    "javascript:alert(1)",
    "evil.test",
    "/\t/evil.test",
    "/%09/evil.test",
    " //evil.test",
    # Not ASCII: a Location header could not even carry them.
    "/\uff0f/evil.test",
    "/\u3002evil.test",
    "/\u2028/evil.test",
    "/caf\u00e9",
]


def test_register_and_sign_in(webapp):
    visitor = webapp.shopper()

    assert visitor.register("shop@example.com").status_int == 303
    assert visitor.get("/account").status_int == 200
    visitor.post("/logout", {"csrf_token": visitor.csrf_token()}, status=303)
    assert visitor.get("/account").status_int == 303
    signed_in = visitor.log_in("shop@example.com")

    assert signed_in.status_int == 303
    assert path_of(signed_in.headers["Location"]) == "/"
    page = visitor.get("/account", status=200)
    assert page.html.find(id="partner-email").get_text() == "shop@example.com"


def test_sign_in_failure_is_generic(webapp):
    webapp.shopper().register("exists@example.com")
    visitor = webapp.shopper()

    wrong_password = visitor.log_in("exists@example.com", "not the password")
    no_account = visitor.log_in("nobody@example.com")

    for page in (wrong_password, no_account):
        assert page.status_int == 400
        message = page.html.find(id="form-error").get_text(strip=True)
        assert message == "The email or password is not right."
    assert visitor.get("/account").status_int == 303


def test_pages_escape_what_the_shopper_typed(webapp):
    page = webapp.shopper().log_in("<script>alert(1)</script>@example.com")

    assert "<script>alert(1)" not in page.text
    assert page.forms["login-form"]["email"].value.startswith("<script>")


def test_register_refuses_bad_input_and_taken_email(webapp):
    webapp.shopper().register("taken@example.com")
    visitor = webapp.shopper()

    for email, password in [
        ("taken@example.com", PASSWORD),
        ("not-an-email", PASSWORD),
        ("short@example.com", "short"),
    ]:
        page = visitor.register(email, password)
        assert page.status_int == 400
        assert page.html.find(id="form-error")


@pytest.mark.parametrize("next_path", EVIL_NEXT)
def test_next_never_leaves_the_site(webapp, next_path):
    webapp.shopper().register("next@example.com")
    visitor = webapp.shopper()

    signed_in = visitor.log_in("next@example.com", next=next_path)

    assert signed_in.headers["Location"] == "http://partner.test/"


@pytest.mark.parametrize("next_path", EVIL_NEXT)
def test_next_in_the_frame_falls_back_to_enroll(webapp, next_path):
    webapp.shopper().register("framed-next@example.com")
    frame = webapp.shopper()

    signed_in = frame.log_in("framed-next@example.com", framed=True, next=next_path)

    assert signed_in.headers["Location"] == "http://partner.test/kazaplan/enroll"


def test_next_keeps_a_local_path(webapp):
    webapp.shopper().register("local@example.com")
    visitor = webapp.shopper()

    signed_in = visitor.log_in("local@example.com", next="/account?tab=plans")

    assert signed_in.headers["Location"] == "http://partner.test/account?tab=plans"


def test_iframe_look_keeps_access_method_and_next(webapp):
    frame = webapp.shopper()

    page = frame.get(
        "/login", {"access_method": "kazaplan", "next": "/kazaplan/enroll"}
    )

    assert page.html.body["class"] == ["bare"]
    assert not page.html.find("header")
    form = page.forms["login-form"]
    assert form["access_method"].value == "kazaplan"
    assert form["next"].value == "/kazaplan/enroll"
    register = page.html.find("a", string="Register")["href"]
    assert "access_method=kazaplan" in register and "next=" in register
    assert frame.get("/login").html.find("header")


@pytest.mark.parametrize(
    "path,fields",
    [
        ("/login", {"email": "a@example.com", "password": PASSWORD}),
        ("/register", {"email": "a@example.com", "password": PASSWORD}),
        ("/logout", {}),
        ("/kazaplan/unlink", {}),
        ("/kazaplan/enroll/ticket", {"ticket": "x"}),
    ],
)
def test_every_form_needs_its_csrf_token(webapp, path, fields):
    visitor = webapp.shopper()
    visitor.get("/login")

    missing = visitor.post(path, fields, status=403)
    wrong = visitor.post(path, dict(fields, csrf_token="forged"), status=403)

    for page in (missing, wrong):
        message = page.html.find(id="error-message").get_text(strip=True)
        assert "reload the page" in message


def test_planner_without_a_link_has_no_token(webapp):
    visitor = webapp.shopper()
    visitor.register("planner@example.com")

    page = visitor.get("/")
    config = json.loads(page.html.find(id="kzlink-planner").string)

    assert page.html.find("script", src=WIDGET_SCRIPT_URL)
    assert page.html.find(id="planner-status")
    assert config["widget"]["token"] == ""
    assert config["widget"]["partnerKey"] == "kzlink-test"
    assert config["widget"]["plan"] == {"id": None, "mode": "create"}
    enroll_url = "http://partner.test/kazaplan/enroll"
    assert config["widget"]["authentication"]["url"] == enroll_url
    assert config["csrfToken"]


def test_planner_gives_a_linked_shopper_the_token(webapp, kazaplan):
    shopper = webapp.shopper()
    shopper.register("linked@example.com")
    shopper.log_in("linked@example.com", framed=True)
    shopper.link()
    user_id = webapp.user_id("linked@example.com")

    config = shopper.planner_config()
    assert config["widget"]["token"] == webapp.link_of(user_id).access_token

    webapp.expire_stored_token(user_id)
    config = shopper.planner_config()
    assert kazaplan.sim.grant_count("refresh_token") == 1
    assert config["widget"]["token"] == webapp.link_of(user_id).access_token

    kazaplan.sim.revoke_refresh_tokens()
    webapp.expire_stored_token(user_id)
    assert shopper.planner_config()["widget"]["token"] == ""
    assert webapp.link_of(user_id).state is LinkState.BROKEN


def test_planner_signed_out_has_no_token(webapp):
    config = webapp.shopper().planner_config()

    assert config["widget"]["token"] == ""


def test_account_shows_the_kazaplan_user_and_plans(webapp, kazaplan):
    shopper = webapp.shopper()
    shopper.register("plans@example.com")
    shopper.log_in("plans@example.com", framed=True)
    shopper.link()
    kazaplan_user = kazaplan.sim.user_by_email("plans@example.com")
    kazaplan.sim.save_plan(kazaplan_user.id, "kzlink-test", "My kitchen", [])

    page = shopper.get("/account", status=200)

    assert page.html.find(id="link-state").get_text(strip=True) == "Linked"
    details = page.html.find(id="kazaplan-user").get_text(" ", strip=True)
    assert str(kazaplan_user.id) in details
    assert kazaplan_user.email in details and kazaplan_user.username in details
    assert "My kitchen" in page.html.find(id="plans").get_text()
    assert page.forms["unlink-form"]


def test_account_when_kazaplan_is_down(webapp, kazaplan):
    shopper = webapp.shopper()
    shopper.register("account-down@example.com")
    shopper.log_in("account-down@example.com", framed=True)
    shopper.link()
    kazaplan.sim.fault = "error"

    page = shopper.get("/account", status=200)

    assert page.html.find(id="kazaplan-problem")
    assert not page.html.find(id="kazaplan-user")


def test_account_needs_sign_in(webapp):
    page = webapp.shopper().get("/account", status=303)

    assert page.headers["Location"] == "http://partner.test/login?next=%2Faccount"


def test_partner_pages_on_the_widget_host_move_to_the_partner_host(webapp):
    visitor = webapp.shopper()

    moved = visitor.get("/account?x=1", headers={"Host": "widget.test"}, status=302)

    assert moved.headers["Location"] == "http://partner.test/account?x=1"


def test_not_found_is_a_page(webapp):
    page = webapp.shopper().get("/no/such/page", status=404)

    assert page.html.find(id="error-message")


FRAMED = f"frame-ancestors 'self' {WIDGET_ORIGIN}"
SELF = "frame-ancestors 'self'"


@pytest.mark.parametrize(
    "path,policy,x_frame",
    [
        ("/kazaplan/enroll", FRAMED, None),
        ("/login?access_method=kazaplan", FRAMED, None),
        ("/register?access_method=kazaplan", FRAMED, None),
        ("/kazaplan/oauth/callback", FRAMED, None),
        ("/login", SELF, "SAMEORIGIN"),
        ("/register", SELF, "SAMEORIGIN"),
        ("/", SELF, "SAMEORIGIN"),
        ("/account", SELF, "SAMEORIGIN"),
        ("/nowhere", SELF, "SAMEORIGIN"),
    ],
)
def test_framing_headers(webapp, path, policy, x_frame):
    response = webapp.shopper().get(path, status="*")

    assert response.status_int < 500
    assert response.headers["Content-Security-Policy"] == policy
    assert response.headers.get("X-Frame-Options") == x_frame
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_callback_redirect_sends_no_referrer_and_is_not_stored(webapp, kazaplan):
    from tests.fixtures.simulator import walk_authorize

    shopper = webapp.shopper()
    shopper.register("headers@example.com", framed=True)
    callback = walk_authorize(shopper.start_authorization())

    back = shopper.get(path_of(callback), status=303)

    assert back.headers["Referrer-Policy"] == "no-referrer"
    assert back.headers["Cache-Control"] == "no-store"
    page = back.follow()
    assert page.headers["Cache-Control"] == "no-store"
    # Its URL holds nothing secret, and its handshake form must keep its Origin.
    assert page.headers["Referrer-Policy"] == "same-origin"


def test_the_planner_page_with_its_token_is_not_stored(webapp, kazaplan):
    shopper = webapp.shopper()
    shopper.register("planner-headers@example.com")
    shopper.log_in("planner-headers@example.com", framed=True)
    shopper.link()

    planner = shopper.get("/")

    assert planner.headers["Cache-Control"] == "no-store"
    assert planner.headers["Referrer-Policy"] == "same-origin"
    assert shopper.planner_config()["widget"]["token"]


def test_frame_cookie_is_partitioned_and_cross_site(webapp):
    frame = webapp.shopper()

    enroll = frame.get("/kazaplan/enroll")
    top = frame.get("/login")

    frame_cookie = enroll.headers["Set-Cookie"]
    assert frame_cookie.startswith("kzlink_frame=")
    for attribute in ("secure", "HttpOnly", "SameSite=None", "Partitioned"):
        assert attribute in frame_cookie
    top_cookie = top.headers["Set-Cookie"]
    assert top_cookie.startswith("kzlink_session=")
    assert "SameSite=Lax" in top_cookie and "Partitioned" not in top_cookie
