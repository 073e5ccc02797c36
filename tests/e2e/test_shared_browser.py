"""One browser, shared: by two shoppers one after the other (a family
computer, a shop's kiosk), or by two tabs of one shopper.

The enroll frame's session lives in a partitioned cookie that a sign-out on
the partner's own pages cannot reach. It must end with the hand-over, or the
next shopper's save would receive the previous shopper's Kazaplan token. And
a tab that unlinks tells the planner tabs to drop the token they hold.
"""

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
from tests.e2e.shopper import Shopper

pytestmark = pytest.mark.browser


def test_the_next_shopper_never_gets_the_previous_shoppers_token(shopper, e2e_server):
    first = new_email("first-of-two", shopper.mode)
    shopper.open_planner()
    shopper.draw(1)
    shopper.save("First's plan")
    shopper.expect_enroll_modal()
    shopper.register_in_modal(first, PASSWORD)
    shopper.link_on_kazaplan()
    shopper.expect_saved()
    shopper.expect_signed_in_at_top(first)
    shopper.log_out()

    second = new_email("second-of-two", shopper.mode)
    shopper.register(second, PASSWORD)
    shopper.open_planner()
    shopper.draw(2)
    shopper.save("Second's plan")

    # The modal asks Kazaplan about the second shopper, rather than handing
    # over the first one's token, and the plan lands in the second account.
    shopper.expect_enroll_modal()
    shopper.link_on_kazaplan()
    shopper.expect_saved()

    assert stored_plans(e2e_server, first) == [("First's plan", 1)]
    assert stored_plans(e2e_server, second) == [("Second's plan", 2)]
    assert_linked(e2e_server, first)
    assert_linked(e2e_server, second)
    assert kazaplan_user(e2e_server, first).id != kazaplan_user(e2e_server, second).id


def test_unlinking_in_one_tab_empties_the_widget_of_another(
    shopper, e2e_server, browser_context
):
    email = new_email("two-tabs-unlink", shopper.mode)
    link_signed_in_shopper(shopper, email, plan="Hall", items=1)
    shopper.open_planner()
    assert shopper.planner_token()
    other_tab = Shopper(
        browser_context.new_page(),
        e2e_server,
        shopper.mode,
        shopper.artifacts / "second-tab",
    )
    other_tab.artifacts.mkdir()

    other_tab.open_account()
    other_tab.unlink()

    # The planner tab heard it: its widget has no token any more, so the next
    # save asks to link again rather than saving with the forgotten link.
    expect(shopper.page.locator("#planner-status")).to_have_text(
        "Your Kazaplan account was unlinked."
    )
    shopper.draw(1)
    shopper.save("Hall again")
    shopper.expect_enroll_modal()
    assert stored_plans(e2e_server, email) == [("Hall", 1)]
    link = e2e_server.db.link(email)
    assert link is None or link.state == "unlinked"
