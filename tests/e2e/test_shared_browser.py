"""Two shoppers, one after the other, in one browser (a family computer, a shop's
kiosk).

The enroll frame's session lives in a partitioned cookie that a sign-out on
the partner's own pages cannot reach. It must end with the hand-over, or the
next shopper's save would receive the previous shopper's Kazaplan token.
"""

import pytest

from tests.e2e.journeys import (
    PASSWORD,
    assert_linked,
    kazaplan_user,
    new_email,
    stored_plans,
)

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
