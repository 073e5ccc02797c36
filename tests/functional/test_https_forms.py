"""Form posts over https, each with the Origin header a browser would send.

Over https, Pyramid refuses a post whose Origin is not this site. Browsers send
``Origin: null`` with the form posts of a page served with
``Referrer-Policy: no-referrer`` (the Fetch standard, "append a request
`Origin` header"), and the page's own origin otherwise. So a page that posts
forms here must not send that policy, or its forms fail for every shopper.
"""

import pytest

from tests.fixtures.webapp import path_of

HTTPS_URL = "https://partner.test"


@pytest.fixture
def https_app(make_webapp):
    return make_webapp(**{"kzlink.public_url": HTTPS_URL})


def browser_origin(page) -> str:
    """The Origin a browser sends with a form post from ``page`` to its site."""
    if page.headers.get("Referrer-Policy") == "no-referrer":
        return "null"
    return HTTPS_URL


def submit(page, form_id, **fields):
    form = page.forms[form_id]
    for name, value in fields.items():
        form[name] = value
    return form.submit(headers={"Origin": browser_origin(page)}, expect_errors=True)


PASSWORD = "a long passphrase"


def account_form(shopper, path, form_id, email, framed=False):
    query = {"access_method": "kazaplan"} if framed else {}
    page = shopper.get(path, query)
    return submit(page, form_id, email=email, password=PASSWORD)


def register(shopper, email, framed=False):
    return account_form(shopper, "/register", "register-form", email, framed)


def log_in(shopper, email, framed=False):
    return account_form(shopper, "/login", "login-form", email, framed)


def test_the_origin_check_is_live_over_https(https_app):
    shopper = https_app.shopper("https")
    page = shopper.get("/register")

    form = page.forms["register-form"]
    form["email"], form["password"] = "null@example.com", PASSWORD
    refused = form.submit(headers={"Origin": "null"}, expect_errors=True)

    assert refused.status_int == 403
    assert https_app.user_id("null@example.com") == "None"


def test_register_and_sign_in(https_app):
    shopper = https_app.shopper("https")

    registered = register(shopper, "https@example.com")
    in_frame = log_in(shopper, "https@example.com", framed=True)

    assert (registered.status_int, in_frame.status_int) == (303, 303)
    assert https_app.user_id("https@example.com") != "None"
    assert shopper.get("/").html.find(id="signed-in-as").text == "https@example.com"


def test_sign_out_from_the_planner_page(https_app):
    shopper = https_app.shopper("https")
    register(shopper, "planner@example.com")
    planner = shopper.get("/")

    signed_out = submit(planner, "logout-form")

    assert signed_out.status_int == 303
    assert shopper.get("/").html.find(id="signed-in-as") is None


def test_the_enroll_frame_redeems_the_planner_pages_ticket(https_app, kazaplan):
    top = https_app.shopper("https")
    register(top, "ticket@example.com")
    csrf = top.planner_config()["csrfToken"]
    # The planner page asks with fetch(), whose Origin is always the page's.
    ticket = top.post(
        "/kazaplan/enrollment_ticket",
        headers={"X-CSRF-Token": csrf, "Origin": HTTPS_URL},
    ).json["ticket"]
    frame = https_app.shopper("https")
    handshake = frame.get("/kazaplan/enroll")

    redeemed = submit(handshake, "kzlink-ticket-form", ticket=ticket)

    assert redeemed.status_int == 303
    assert path_of(redeemed.headers["Location"]) == "/kazaplan/enroll"
    assert (
        frame.get("/kazaplan/enroll", status=302)
        .headers["Location"]
        .startswith(kazaplan.authorize_url)
    )


def test_unlink_from_the_account_page(https_app, kazaplan):
    shopper = https_app.shopper("https")
    register(shopper, "unlink@example.com")
    log_in(shopper, "unlink@example.com", framed=True)
    shopper.link()
    account = shopper.get("/account")

    unlinked = submit(account, "unlink-form")

    assert unlinked.status_int == 303
    user_id = https_app.user_id("unlink@example.com")
    assert https_app.link_of(user_id).kazaplan_user_id is None
