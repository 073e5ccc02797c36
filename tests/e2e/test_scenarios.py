"""The shopper's journeys through the widget, the enroll modal and Kazaplan.

Each scenario runs in Chromium twice: with third-party cookies blocked (as
Chromium ships) and allowed. It checks what the shopper sees and what was
stored: the link in kzlink's database and the plans in the Kazaplan simulator.
"""

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.journeys import (
    PASSWORD,
    assert_linked,
    kazaplan_user,
    link_signed_in_shopper,
    new_email,
    stored_plans,
)
from tests.e2e.shopper import SAVE_TIMEOUT_MS

pytestmark = pytest.mark.browser


def test_new_shopper_registers_and_links_in_the_modal(shopper, e2e_server):
    email = new_email("new", shopper.mode)
    shopper.open_planner()
    shopper.draw(3)
    shopper.save("Kitchen")

    shopper.expect_enroll_modal()
    shopper.expect_modal_at("/login", access_method="kazaplan")
    shopper.shot("enroll-modal", in_modal=True)
    shopper.register_in_modal(email, PASSWORD)
    # Kazaplan knows no account for this email: it offers to create one.
    offer = shopper.modal.locator("#kazaplan-account [name=action]")
    expect(offer).to_have_attribute("value", "signup", timeout=SAVE_TIMEOUT_MS)
    expect(offer).to_contain_text("Create my account")
    expect(shopper.modal.locator("#kazaplan-email")).to_have_value(email)
    shopper.link_on_kazaplan()
    shopper.expect_saved()

    assert stored_plans(e2e_server, email) == [("Kitchen", 3)]
    assert_linked(e2e_server, email)

    # The shopper signed in inside the enroll frame, whose session is its own
    # partitioned cookie; the hand-over page's ticket signed the planner page
    # in too, so the partner's pages need no second sign-in.
    shopper.expect_signed_in_at_top(email)
    assert shopper.requested("/kazaplan/session_ticket")
    expect(shopper.page.locator("#link-state")).to_have_text("Linked")
    expect(shopper.page.locator("#kazaplan-user")).to_contain_text(email)
    expect(shopper.page.locator("#plans")).to_contain_text("Kitchen")


def test_signed_out_shopper_logs_in_in_the_modal(shopper, e2e_server):
    email = new_email("signed-out", shopper.mode)
    shopper.register(email, PASSWORD)
    shopper.log_out()
    shopper.open_planner()
    shopper.draw(2)
    shopper.save("Bedroom")

    shopper.expect_enroll_modal()
    shopper.expect_modal_at("/login", access_method="kazaplan")
    expect(shopper.modal.locator(".site-header")).to_have_count(0)
    shopper.log_in_in_modal(email, PASSWORD)
    shopper.link_on_kazaplan()
    shopper.expect_saved()

    assert stored_plans(e2e_server, email) == [("Bedroom", 2)]
    assert_linked(e2e_server, email)
    shopper.expect_signed_in_at_top(email)
    expect(shopper.page.locator("#plans")).to_contain_text("Bedroom")


def test_signed_in_shopper_links_without_signing_in_again(shopper, e2e_server):
    email = new_email("signed-in", shopper.mode)
    shopper.register(email, PASSWORD)
    shopper.open_planner()
    shopper.draw(2)
    before = len(shopper.requests)
    shopper.save("Living room")

    shopper.expect_enroll_modal()
    shopper.link_on_kazaplan()
    shopper.expect_saved()

    assert shopper.requested("/login", since=before) == []
    assert shopper.requested("/kazaplan/enroll/ticket", since=before)
    assert stored_plans(e2e_server, email) == [("Living room", 2)]
    assert_linked(e2e_server, email)


def test_a_slow_ticket_still_spares_the_second_sign_in(shopper, e2e_server):
    # Longer than the frame waits for the planner page's first answer: only the
    # acknowledgement keeps the frame waiting for the ticket.
    delay_s = 3

    def slow_ticket(route):
        time.sleep(delay_s)
        route.continue_()

    email = new_email("slow-ticket", shopper.mode)
    shopper.register(email, PASSWORD)
    shopper.open_planner()
    shopper.page.route("**/kazaplan/enrollment_ticket", slow_ticket)
    shopper.draw(1)
    before = len(shopper.requests)
    shopper.save("Hallway")

    shopper.expect_enroll_modal()
    shopper.link_on_kazaplan()
    shopper.expect_saved()

    assert shopper.requested("/login", since=before) == []
    assert stored_plans(e2e_server, email) == [("Hallway", 1)]
    assert_linked(e2e_server, email)


def test_linked_shopper_saves_without_the_modal(shopper, e2e_server):
    email = new_email("linked", shopper.mode)
    link_signed_in_shopper(shopper, email)

    shopper.open_planner()
    assert e2e_server.sim.access_grant(shopper.planner_token()) is not None
    before = len(shopper.requests)
    shopper.draw(4)
    shopper.save("Second plan")
    shopper.expect_saved()

    assert shopper.requested("/kazaplan/enroll", since=before) == []
    assert ("Second plan", 4) in stored_plans(e2e_server, email)


def test_expired_token_is_refreshed_and_the_plan_kept(shopper, e2e_server):
    email = new_email("expired", shopper.mode)
    link_signed_in_shopper(shopper, email, plan="Office", items=2)
    expiry_before = e2e_server.db.link(email).expires_at
    refreshes = e2e_server.sim.grant_count("refresh_token")

    e2e_server.sim.expire_access_tokens()
    before, heard_before = len(shopper.requests), len(shopper.journal)
    shopper.draw(1)
    shopper.save()
    shopper.expect_saved()
    expect(shopper.widget.locator("#kz-canvas li")).to_have_count(3)

    assert shopper.requested("/kazaplan/refresh_token", since=before)
    assert shopper.requested("/kazaplan/enroll", since=before) == []
    # Kazaplan refused the widget's first save (the widget reported it
    # unauthorized) before the page asked for a token; every save but the last
    # was refused.
    save_url = e2e_server.widget_url + "/simulator/widget/plans"
    save, refresh = "POST " + save_url, "POST " + shopper.url("/kazaplan/refresh_token")
    posts = [line for line in shopper.requests[before:] if line in (save, refresh)]
    assert posts[:2] == [save, refresh] and posts[-1] == save
    refused = shopper.journal[heard_before:].count("HTTP 401 " + save_url)
    assert refused == posts.count(save) - 1 >= 1
    assert e2e_server.sim.grant_count("refresh_token") == refreshes + 1
    assert stored_plans(e2e_server, email) == [("Office", 3)]
    assert_linked(e2e_server, email)
    assert e2e_server.db.link(email).expires_at > expiry_before


def test_stale_link_is_refreshed_before_hand_over(shopper, e2e_server):
    email = new_email("stale", shopper.mode)
    link_signed_in_shopper(shopper, email, plan="Hall", items=1)
    refreshes = e2e_server.sim.grant_count("refresh_token")

    e2e_server.sim.expire_access_tokens()
    e2e_server.db.move_expiry(email, datetime.now(UTC) - timedelta(hours=1))
    shopper.open_planner()
    assert e2e_server.sim.grant_count("refresh_token") == refreshes + 1
    assert e2e_server.sim.access_grant(shopper.planner_token()) is not None
    before = len(shopper.requests)
    shopper.draw(2)
    shopper.save("Hall again")
    shopper.expect_saved()

    assert shopper.requested("/kazaplan/enroll", since=before) == []
    assert e2e_server.sim.grant_count("refresh_token") == refreshes + 1
    assert ("Hall again", 2) in stored_plans(e2e_server, email)
    assert_linked(e2e_server, email)
    assert e2e_server.db.link(email).expires_at > datetime.now(UTC)


def test_refused_authorization_can_be_tried_again(shopper, e2e_server):
    email = new_email("refused", shopper.mode)
    shopper.register(email, PASSWORD)
    shopper.open_planner()
    shopper.draw(2)
    shopper.save("Garage")

    shopper.expect_enroll_modal()
    shopper.kazaplan_account_step()
    shopper.kazaplan_consent("refuse")
    expect(shopper.modal.locator("#error-message")).to_have_text(
        "You declined to link your Kazaplan account. You can try again at any time."
    )
    shopper.shot("refused", in_modal=True)
    assert e2e_server.db.link(email) is None or (
        e2e_server.db.link(email).state == "unlinked"
    )
    assert stored_plans(e2e_server, email) == []

    shopper.widget.locator("#kz-modal-close").click()
    expect(shopper.widget.locator("#kz-modal")).to_be_hidden()
    shopper.save()
    shopper.expect_enroll_modal()
    shopper.kazaplan_account_step()
    shopper.kazaplan_consent("refuse")
    expect(shopper.modal.locator("#error-message")).to_contain_text("declined")
    shopper.shot("refused-again", in_modal=True)

    # The error page's own link, inside the modal, starts enrollment again.
    shopper.modal.locator("#try-again").click()
    kazaplan = re.compile(re.escape(e2e_server.widget_url + "/simulator/authorize?"))
    shopper.modal_frame().wait_for_url(kazaplan)
    shopper.link_on_kazaplan()
    shopper.expect_saved()

    assert stored_plans(e2e_server, email) == [("Garage", 2)]
    assert_linked(e2e_server, email)


def test_broken_link_enrolls_again(shopper, e2e_server):
    email = new_email("broken", shopper.mode)
    link_signed_in_shopper(shopper, email, plan="Attic", items=1)
    kazaplan_id = kazaplan_user(e2e_server, email).id

    e2e_server.sim.revoke_refresh_tokens()
    e2e_server.sim.expire_access_tokens()
    before = len(shopper.requests)
    shopper.draw(2)
    shopper.save()

    shopper.expect_enroll_modal()
    refused = f"HTTP 409 {e2e_server.partner_url}/kazaplan/refresh_token"
    assert refused in shopper.journal
    assert e2e_server.db.link(email).state == "broken"
    shopper.link_on_kazaplan()
    shopper.expect_saved()

    assert shopper.requested("/kazaplan/refresh_token", since=before)
    assert stored_plans(e2e_server, email) == [("Attic", 3)]
    assert_linked(e2e_server, email)
    assert e2e_server.db.link(email).kazaplan_user_id == kazaplan_id


def test_unlinked_shopper_is_asked_to_enroll_again(shopper, e2e_server):
    email = new_email("unlink", shopper.mode)
    link_signed_in_shopper(shopper, email, plan="Cellar", items=1)
    shopper.open_account()
    expect(shopper.page.locator("#plans")).to_contain_text("Cellar")

    shopper.unlink()
    expect(shopper.page.locator("#link-state")).to_have_text("Not linked")
    link = e2e_server.db.link(email)
    assert link is None or link.state == "unlinked"

    shopper.open_planner()
    assert shopper.planner_token() == ""
    shopper.draw(1)
    shopper.save("Cellar again")
    shopper.expect_enroll_modal()
    shopper.link_on_kazaplan()
    shopper.expect_saved()

    assert ("Cellar again", 1) in stored_plans(e2e_server, email)
    assert_linked(e2e_server, email)
