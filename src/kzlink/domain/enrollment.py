"""The enrollment decision table: what the enroll page does for whom.

A pure function of whether someone is signed in and the state of their link.
"""

import enum

from kzlink.domain.model import LinkState


class EnrollmentDecision(enum.Enum):
    ASK_TO_SIGN_IN = "ask_to_sign_in"
    HAND_OVER_TOKEN = "hand_over_token"
    REFRESH_THEN_HAND_OVER = "refresh_then_hand_over"
    AUTHORIZE = "authorize"


_BY_LINK_STATE = {
    LinkState.LINKED: EnrollmentDecision.HAND_OVER_TOKEN,
    LinkState.EXPIRED: EnrollmentDecision.REFRESH_THEN_HAND_OVER,
    LinkState.UNLINKED: EnrollmentDecision.AUTHORIZE,
    LinkState.BROKEN: EnrollmentDecision.AUTHORIZE,
}


def decide_enrollment(signed_in: bool, state: LinkState | None) -> EnrollmentDecision:
    """Decide the enroll page's next step; ``state`` is ignored when signed out."""
    if not signed_in:
        return EnrollmentDecision.ASK_TO_SIGN_IN
    return _BY_LINK_STATE[state]
