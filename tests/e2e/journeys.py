"""What the e2e test modules share: fresh shoppers, the linking journey, and
checks of what kzlink and the Kazaplan simulator stored."""

import uuid

PASSWORD = "a long enough passphrase"


def new_email(scenario: str, mode: str) -> str:
    return f"{scenario}-{mode}-{uuid.uuid4().hex[:8]}@example.test"


def kazaplan_user(server, email):
    user = server.sim.user_by_email(email)
    assert user is not None, f"no Kazaplan account for {email}"
    return user


def stored_plans(server, email) -> list[tuple[str, int]]:
    plans = server.sim.plans_of(kazaplan_user(server, email).id)
    return [(plan.title, len(plan.items)) for plan in plans]


def assert_linked(server, email) -> None:
    link = server.db.link(email)
    assert link is not None, f"no link stored for {email}"
    assert link.state == "linked"
    assert link.kazaplan_user_id == kazaplan_user(server, email).id


def link_signed_in_shopper(shopper, email, plan="First plan", items=2) -> None:
    """Register on the partner site, then link through the widget's first save."""
    shopper.register(email, PASSWORD)
    shopper.open_planner()
    shopper.draw(items)
    shopper.save(plan)
    shopper.expect_enroll_modal()
    shopper.link_on_kazaplan()
    shopper.expect_saved()
    assert_linked(shopper.server, email)
