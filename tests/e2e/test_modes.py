"""The two browser modes every e2e test runs in really differ.

The enroll frame is the partner's site inside the widget's site inside the
partner's page. A cookie the partner's site set at top level, SameSite=None
and Secure (the least a cross-site frame needs), reaches that frame only when
third-party cookies are allowed: Chromium as it ships keeps it out.
"""

import pytest

pytestmark = pytest.mark.browser

PROBE = "kzlink_mode_probe=set-at-top-level"
REACHES_THE_ENROLL_FRAME = {"blocked": False, "allowed": True}


def cookies_sent(request) -> list[str]:
    return (request.header_value("cookie") or "").split("; ")


def test_top_level_cookie_reaches_the_enroll_frame_only_when_allowed(
    shopper, e2e_server, mode
):
    shopper.page.goto(shopper.url("/"))
    shopper.page.evaluate(f"document.cookie = '{PROBE}; SameSite=None; Secure; Path=/'")

    with shopper.page.expect_request(shopper.url("/")) as planner:
        shopper.open_planner()

    shopper.draw(1)
    with shopper.page.expect_request(shopper.url("/kazaplan/enroll")) as enroll:
        shopper.save()
    shopper.expect_enroll_modal()
    shopper.shot("enroll-modal", in_modal=True)

    # The cookie is there to be sent: the top-level page gets it in both modes.
    assert PROBE in cookies_sent(planner.value)
    widget = enroll.value.frame.parent_frame
    assert widget.url.startswith(e2e_server.widget_url + "/simulator/widget")
    assert widget.parent_frame == shopper.page.main_frame
    sent = cookies_sent(enroll.value)
    assert (PROBE in sent) is REACHES_THE_ENROLL_FRAME[mode], sent
