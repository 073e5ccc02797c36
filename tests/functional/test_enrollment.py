"""The partner guide's enrollment scenarios, end to end through the real app.

The enroll page runs inside the widget's cross-site iframe, whose cookies are
partitioned away from the planner page's: a frame signs in through the login
page's iframe look or an enrollment ticket, never through the top session.
"""

import json

from kzlink.domain.model import LinkState
from tests.fixtures.simulator import query_params, walk_authorize
from tests.fixtures.webapp import (
    PASSWORD,
    WIDGET_ORIGIN,
    path_of,
)


def handover(page) -> dict:
    return json.loads(page.html.find(id="kzlink-handover").string)


def test_new_shopper_registers_in_the_frame_then_links(webapp, kazaplan):
    shopper = webapp.shopper()

    registered = shopper.register("new@example.com", framed=True)
    assert registered.status_int == 303
    assert path_of(registered.headers["Location"]) == "/kazaplan/enroll"

    authorize_url = shopper.start_authorization()
    params = query_params(authorize_url)
    assert authorize_url.startswith(kazaplan.authorize_url)
    assert params["email"] == "new@example.com"
    assert params["redirect_uri"] == "http://partner.test/kazaplan/oauth/callback"
    assert params["state"] and params["code_challenge_method"] == "S256"

    callback = walk_authorize(authorize_url)
    back = shopper.get(path_of(callback), status=303)
    assert path_of(back.headers["Location"]) == "/kazaplan/enroll"
    page = back.follow(status=200)

    kazaplan_user = kazaplan.sim.user_by_email("new@example.com")
    link = webapp.link_of(webapp.user_id("new@example.com"))
    assert link.state is LinkState.LINKED
    assert link.kazaplan_user_id == kazaplan_user.id
    config = handover(page)
    assert config["token"] == link.access_token
    assert config["widgetOrigin"] == WIDGET_ORIGIN
    # The ticket that signs the partner's own page in as this shopper.
    top = webapp.shopper()
    signed_in = top.post_json(
        "/kazaplan/session_ticket",
        {"ticket": config["ticket"]},
        headers={"X-CSRF-Token": top.csrf_token()},
    )
    assert signed_in.json["email"] == "new@example.com"


def test_the_frames_session_ends_with_the_hand_over(webapp, kazaplan):
    # A sign-out on the partner's pages cannot reach the frame's cookie: a
    # frame session that outlived the hand-over would give the next shopper
    # of this browser the previous one's token.
    shopper = webapp.shopper()
    shopper.register("leaves@example.com", framed=True)
    shopper.link(sign_in_again=False)

    page = shopper.get("/kazaplan/enroll", status=200)

    assert page.html.find(id="kzlink-handshake") is not None
    assert page.html.find(id="kzlink-handover") is None
    assert webapp.link_of(webapp.user_id("leaves@example.com")).access_token not in (
        page.text
    )


def test_signed_out_shopper_is_asked_to_sign_in_then_links(webapp, kazaplan):
    webapp.shopper().register("known@example.com")
    frame = webapp.shopper()

    handshake = frame.get("/kazaplan/enroll", status=200)
    config = json.loads(handshake.html.find(id="kzlink-handshake").string)
    login_url = config["loginUrl"]
    assert query_params(login_url) == {
        "access_method": "kazaplan",
        "next": "/kazaplan/enroll",
    }

    form = frame.get(path_of(login_url)).forms["login-form"]
    form["email"], form["password"] = "known@example.com", PASSWORD
    signed_in = form.submit(status=303)
    assert path_of(signed_in.headers["Location"]) == "/kazaplan/enroll"

    page = frame.link()
    link = webapp.link_of(webapp.user_id("known@example.com"))
    assert link.state is LinkState.LINKED
    assert handover(page)["token"] == link.access_token


def test_signed_in_shopper_not_linked_goes_to_kazaplan(webapp, kazaplan):
    shopper = webapp.shopper()
    shopper.register("signed-in@example.com", framed=True)

    authorize_url = shopper.start_authorization()

    assert query_params(authorize_url)["email"] == "signed-in@example.com"
    link = webapp.link_of(webapp.user_id("signed-in@example.com"))
    assert link.state is LinkState.UNLINKED


def test_linked_shopper_gets_the_token_without_asking_kazaplan(webapp, kazaplan):
    shopper = webapp.shopper()
    shopper.register("linked@example.com", framed=True)
    shopper.link()
    link = webapp.link_of(webapp.user_id("linked@example.com"))
    grants = kazaplan.sim.grant_count("authorization_code")

    page = shopper.get("/kazaplan/enroll", status=200)

    assert handover(page)["token"] == link.access_token
    assert kazaplan.sim.grant_count("authorization_code") == grants
    assert kazaplan.sim.grant_count("refresh_token") == 0


def test_shopper_with_a_kazaplan_account_signs_in_there(webapp, kazaplan):
    existing = kazaplan.sim.sign_up("has-kazaplan@example.com")
    shopper = webapp.shopper()
    shopper.register("has-kazaplan@example.com", framed=True)

    page = shopper.link()

    link = webapp.link_of(webapp.user_id("has-kazaplan@example.com"))
    assert link.kazaplan_user_id == existing.id
    assert handover(page)["token"] == link.access_token


def test_expired_token_is_refreshed_before_the_hand_over(webapp, kazaplan):
    shopper = webapp.shopper()
    shopper.register("expired@example.com", framed=True)
    shopper.link()
    user_id = webapp.user_id("expired@example.com")
    old = webapp.expire_stored_token(user_id)

    page = shopper.get("/kazaplan/enroll", status=200)

    link = webapp.link_of(user_id)
    assert kazaplan.sim.grant_count("refresh_token") == 1
    assert link.state is LinkState.LINKED
    assert link.access_token != old.access_token
    assert handover(page)["token"] == link.access_token


def test_broken_link_authorizes_again(webapp, kazaplan):
    shopper = webapp.shopper()
    shopper.register("broken@example.com", framed=True)
    shopper.link()
    user_id = webapp.user_id("broken@example.com")
    webapp.expire_stored_token(user_id)
    kazaplan.sim.revoke_refresh_tokens()

    authorize_url = shopper.start_authorization()
    assert webapp.link_of(user_id).state is LinkState.BROKEN

    shopper.get(path_of(walk_authorize(authorize_url)), status=303).follow(status=200)
    assert webapp.link_of(user_id).state is LinkState.LINKED


def test_hand_over_escapes_the_token(webapp, kazaplan):
    shopper = webapp.shopper()
    shopper.register("escape@example.com", framed=True)
    shopper.link()
    nasty = "</script><script>alert('x')</script>&\"'"
    webapp.change_link(webapp.user_id("escape@example.com"), access_token=nasty)

    page = shopper.get("/kazaplan/enroll", status=200)

    assert nasty not in page.text
    assert "</script><script>" not in page.text
    assert handover(page)["token"] == nasty


def test_hand_over_posts_to_the_widget_origin_only(webapp, kazaplan):
    shopper = webapp.shopper()
    shopper.register("origin@example.com", framed=True)
    page = shopper.link()
    script = page.html.find("script", src=True)["src"]
    source = shopper.get(path_of(script), status=200).text

    assert handover(page)["widgetOrigin"] == WIDGET_ORIGIN
    assert "var widget = config.widgetOrigin;" in source
    # The token and the closing go to the widget, the ticket to the top window
    # on the partner's own origin.
    assert source.count("postMessage(") == 3
    assert source.count("}, widget);") == 2
    assert "window.top.postMessage({ name: 'kzlink:signedIn'" in source
    assert "'*'" not in source and '"*"' not in source


def test_enroll_without_session_renders_the_handshake_not_a_redirect(webapp):
    frame = webapp.shopper()

    page = frame.get("/kazaplan/enroll", status=200)

    form = page.forms["kzlink-ticket-form"]
    assert form.method.lower() == "post"
    assert path_of(form.action) == "/kazaplan/enroll/ticket"
    assert form["ticket"].value == ""
    script = page.html.find("script", src=True)["src"]
    source = frame.get(path_of(script)).text
    assert "window.top.postMessage({ name: 'kzlink:ticketRequest' }, ownOrigin)" in (
        source
    )
    assert "event.origin !== ownOrigin" in source
