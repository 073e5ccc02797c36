"""The enroll page's decision table, row by row."""

import pytest

from kzlink.domain.enrollment import EnrollmentDecision, decide_enrollment
from kzlink.domain.model import LinkState

SIGNED_IN_ROWS = {
    LinkState.LINKED: EnrollmentDecision.HAND_OVER_TOKEN,
    LinkState.EXPIRED: EnrollmentDecision.REFRESH_THEN_HAND_OVER,
    LinkState.UNLINKED: EnrollmentDecision.AUTHORIZE,
    LinkState.BROKEN: EnrollmentDecision.AUTHORIZE,
}


def test_table_has_a_row_for_every_link_state():
    assert set(SIGNED_IN_ROWS) == set(LinkState)


@pytest.mark.parametrize("state", [None, *LinkState])
def test_signed_out_is_asked_to_sign_in_whatever_the_link(state):
    assert decide_enrollment(False, state) is EnrollmentDecision.ASK_TO_SIGN_IN


@pytest.mark.parametrize(("state", "decision"), SIGNED_IN_ROWS.items())
def test_signed_in_decision_follows_the_link_state(state, decision):
    assert decide_enrollment(True, state) is decision
