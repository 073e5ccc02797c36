"""The widget believes `newToken` and `closeLoginIframe` only from its enroll
modal's frame, and only while that frame shows the partner's site.

The planner page and the enroll frame share the partner's origin, so the widget
tells them apart by the sending window; the enroll frame also shows Kazaplan's
own pages (another origin) on the way. Here those messages come from the wrong
window, or from the right window at the wrong origin, carrying a live token of
another Kazaplan account: the widget must go on asking the shopper to sign in,
and save nothing into that account. That it does believe the enroll frame at
the partner's origin is what every linking journey of test_scenarios.py shows
(the hand-over page sends both messages before each "Saved").
"""

import json

import pytest
from playwright.sync_api import expect

from kzlink.simulator.state import DOCUMENTED_SCOPE
from tests.e2e.journeys import PASSWORD, new_email, stored_plans
from tests.e2e.shopper import SAVE_TIMEOUT_MS, post_to_widget

pytestmark = pytest.mark.browser

ASKING_TO_SIGN_IN = "Sign in to save your plan"


def token_of_another_account(shopper, email):
    """A live access token of the Kazaplan account of ``email``, issued to this
    partner as if ``email`` had linked on it; returns (token, Kazaplan user)."""
    sim = shopper.server.sim
    config = json.loads(shopper.page.locator("#kzlink-planner").text_content())
    partner_key = config["widget"]["partnerKey"]
    client = sim.client_by_partner_key(partner_key)
    redirect_uri = client.redirect_uris[0]
    user = sim.sign_up(email)
    code = sim.issue_code(
        client.client_id, redirect_uri, user.id, DOCUMENTED_SCOPE, None
    )
    return sim.exchange_code(client, code, redirect_uri, None).access_token, user


def forge_sign_in(shopper, sender, token):
    post_to_widget(shopper, sender, {"name": "newToken", "token": token})
    post_to_widget(shopper, sender, {"name": "closeLoginIframe"})


def expect_still_asked_to_sign_in(shopper):
    # Either message, believed, changes this at once: "Signed in" (then the
    # page's save with that token), or the modal closed.
    expect(shopper.widget.locator("#kz-status")).to_have_text(ASKING_TO_SIGN_IN)
    shopper.expect_enroll_modal()


def test_the_planner_page_cannot_hand_the_widget_a_token(shopper, e2e_server):
    shopper.open_planner()
    token, intruder = token_of_another_account(
        shopper, new_email("intruder-top", shopper.mode)
    )
    shopper.draw(2)
    shopper.save("Porch")
    shopper.expect_enroll_modal()
    shopper.expect_modal_at("/login", access_method="kazaplan")

    # Same origin as the enroll frame, on the partner's site: only the window
    # differs.
    forge_sign_in(shopper, shopper.page.main_frame, token)

    expect_still_asked_to_sign_in(shopper)
    shopper.shot("forged-from-planner-page", in_modal=True)

    shopper.widget.locator("#kz-modal-close").click()
    expect(shopper.widget.locator("#kz-modal")).to_be_hidden()
    shopper.save()

    expect_still_asked_to_sign_in(shopper)
    shopper.shot("save-asks-to-sign-in-again", in_modal=True)
    assert e2e_server.sim.plans_of(intruder.id) == []


def test_kazaplan_pages_in_the_enroll_frame_cannot_hand_a_token(shopper, e2e_server):
    email = new_email("foreign-origin", shopper.mode)
    shopper.register(email, PASSWORD)
    shopper.open_planner()
    token, intruder = token_of_another_account(
        shopper, new_email("intruder-frame", shopper.mode)
    )
    shopper.draw(2)
    shopper.save("Veranda")
    shopper.expect_enroll_modal()
    account_step = shopper.modal.locator("#kazaplan-account")
    expect(account_step).to_be_visible(timeout=SAVE_TIMEOUT_MS)

    # The enroll frame itself, now on Kazaplan's site: the right window, at
    # an origin that is not the partner's.
    kazaplan_page = shopper.modal_frame()
    assert kazaplan_page.evaluate("origin") == e2e_server.widget_url
    forge_sign_in(shopper, kazaplan_page, token)

    expect_still_asked_to_sign_in(shopper)
    shopper.shot("forged-from-kazaplan-page", in_modal=True)

    shopper.link_on_kazaplan()
    shopper.expect_saved()

    assert e2e_server.sim.plans_of(intruder.id) == []
    assert stored_plans(e2e_server, email) == [("Veranda", 2)]
