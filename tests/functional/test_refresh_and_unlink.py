"""The planner page's refresh endpoint, and unlinking."""

import json
import sqlite3
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from kzlink.adapters.sql.models import LinkRow
from kzlink.domain import errors
from kzlink.domain.model import LinkState
from tests.fixtures.webapp import closed_port_url, path_of

REFRESH = "/kazaplan/refresh_token"


def linked_shopper(webapp, email):
    """A shopper signed in at top level and in the frame, linked."""
    shopper = webapp.shopper()
    shopper.register(email)
    shopper.log_in(email, framed=True)
    shopper.link()
    return shopper, webapp.user_id(email)


@pytest.fixture
def linked(webapp, kazaplan):
    return linked_shopper(webapp, "planner@example.com")


def refresh(shopper, body=None, status=200, token=None, **kwargs):
    headers = {"X-CSRF-Token": token or shopper.csrf_token()}
    return shopper.post_json(
        REFRESH, body or {}, headers=headers, status=status, **kwargs
    )


def test_fresh_token_is_returned_as_stored(webapp, kazaplan, linked):
    shopper, user_id = linked
    link = webapp.link_of(user_id)

    answer = refresh(shopper, {"access_token": None})

    assert answer.json == {
        "access_token": link.access_token,
        "expires_at": link.tokens.expires_at.isoformat(),
    }
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert kazaplan.sim.grant_count("refresh_token") == 0


def test_expired_token_is_refreshed(webapp, kazaplan, linked):
    shopper, user_id = linked
    old = webapp.expire_stored_token(user_id)

    answer = refresh(shopper)

    link = webapp.link_of(user_id)
    assert kazaplan.sim.grant_count("refresh_token") == 1
    assert answer.json["access_token"] == link.access_token != old.access_token
    assert link.state is LinkState.LINKED


def test_token_the_widget_used_forces_a_refresh(webapp, kazaplan, linked):
    shopper, user_id = linked
    stored = webapp.link_of(user_id)

    answer = refresh(shopper, {"access_token": stored.access_token})

    assert kazaplan.sim.grant_count("refresh_token") == 1
    assert answer.json["access_token"] != stored.access_token
    assert answer.json["access_token"] == webapp.link_of(user_id).access_token


def test_older_token_gets_the_newer_stored_one_without_kazaplan(
    webapp, kazaplan, linked
):
    shopper, user_id = linked
    stored = webapp.link_of(user_id)

    answer = refresh(shopper, {"access_token": "an-older-token"})

    assert answer.json["access_token"] == stored.access_token
    assert kazaplan.sim.grant_count("refresh_token") == 0


def test_form_body_is_accepted(webapp, kazaplan, linked):
    shopper, user_id = linked
    stored = webapp.link_of(user_id)

    answer = shopper.post(
        REFRESH,
        {"access_token": stored.access_token},
        headers={"X-CSRF-Token": shopper.csrf_token()},
    )

    assert answer.json["access_token"] == webapp.link_of(user_id).access_token
    assert kazaplan.sim.grant_count("refresh_token") == 1


def test_refused_refresh_breaks_the_link(webapp, kazaplan, linked):
    shopper, user_id = linked
    webapp.expire_stored_token(user_id)
    kazaplan.sim.revoke_refresh_tokens()

    answer = refresh(shopper, status=409)

    assert answer.json == {
        "error": "link_broken",
        "message": errors.RefreshRefusedError.message,
    }
    assert webapp.link_of(user_id).state is LinkState.BROKEN
    assert shopper.start_authorization()


def test_kazaplan_down_keeps_the_link(make_webapp, kazaplan):
    webapp = make_webapp()
    shopper, user_id = linked_shopper(webapp, "down@example.com")
    before = webapp.expire_stored_token(user_id)
    down = make_webapp(**{"kzlink.kazaplan.api_url": closed_port_url()})
    shopper.app.app = down.app

    answer = refresh(shopper, status=503)

    assert answer.json["error"] == errors.KazaplanUnavailableError.code
    assert answer.headers["Retry-After"].isdigit()
    assert down.link_of(user_id) == before


def test_slow_kazaplan_keeps_the_link(webapp, kazaplan, linked):
    shopper, user_id = linked
    before = webapp.expire_stored_token(user_id)
    kazaplan.sim.fault = "slow"

    answer = refresh(shopper, status=503)

    assert answer.json["error"] == errors.KazaplanUnavailableError.code
    assert webapp.link_of(user_id) == before


def test_a_refresh_kept_waiting_for_the_lock_is_told_to_retry(make_webapp, kazaplan):
    webapp = make_webapp()
    shopper, user_id = linked_shopper(webapp, "busy@example.com")
    before = webapp.expire_stored_token(user_id)
    # The shortest Kazaplan timeouts, so that the wait is the shortest too.
    impatient = make_webapp(
        **{"kzlink.http_connect_timeout": "0.1", "kzlink.http_read_timeout": "0.1"}
    )
    shopper.app.app = impatient.app

    with database_write_lock_held_elsewhere(webapp):
        answer = refresh(shopper, status=503)

    assert answer.json["error"] == errors.LinkBusyError.code
    assert answer.headers["Retry-After"].isdigit()
    assert kazaplan.sim.grant_count("refresh_token") == 0
    assert webapp.link_of(user_id) == before


def test_an_unlinked_shoppers_planner_page_writes_no_link(webapp):
    shopper = webapp.shopper()
    shopper.register("unlinked@example.com")

    config = shopper.planner_config()

    assert config["widget"]["token"] == ""
    assert link_rows(webapp) == 0


@contextmanager
def database_write_lock_held_elsewhere(webapp):
    """Hold SQLite's write lock from another connection, as a refresh in
    another process does while it calls Kazaplan."""
    path = webapp.app.registry.dbsession_factory.kw["bind"].url.database
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()


def link_rows(webapp) -> int:
    with webapp.app.registry.dbsession_factory() as session:
        return session.scalar(select(func.count()).select_from(LinkRow))


def test_not_signed_in(webapp):
    stranger = webapp.shopper()

    answer = refresh(stranger, status=401)

    assert answer.json == {
        "error": "not_signed_in",
        "message": errors.NotSignedInError.message,
    }


def test_not_linked(webapp):
    shopper = webapp.shopper()
    shopper.register("unlinked@example.com")

    answer = refresh(shopper, status=409)

    assert answer.json["error"] == "not_linked"


def test_missing_csrf_header(webapp, kazaplan, linked):
    shopper, user_id = linked

    answer = shopper.post_json(REFRESH, {}, status=403)

    assert answer.json["error"] == "csrf_failed"


def test_frame_csrf_token_is_not_the_planner_pages(webapp, kazaplan, linked):
    shopper, user_id = linked

    refresh(shopper, token=shopper.csrf_token(framed=True), status=403)


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'{"access_token": 42}', b'"text"', b"\xff\xfe"],
    ids=["garbage", "list", "number", "string", "not-utf8"],
)
def test_malformed_body(webapp, kazaplan, linked, body):
    shopper, user_id = linked
    before = webapp.link_of(user_id)

    answer = shopper.post(
        REFRESH,
        body,
        headers={"X-CSRF-Token": shopper.csrf_token()},
        content_type="application/json",
        status=400,
    )

    assert answer.json["error"] == "bad_request"
    assert webapp.link_of(user_id) == before


def test_huge_token_is_refused(webapp, kazaplan, linked):
    shopper, user_id = linked

    answer = refresh(shopper, {"access_token": "t" * 10_000}, status=400)

    assert answer.json["error"] == "bad_request"


def test_unlink_forgets_the_link_and_tells_the_account_page(webapp, kazaplan, linked):
    shopper, user_id = linked
    account = shopper.get("/account")

    done = account.forms["unlink-form"].submit(status=303)

    assert path_of(done.headers["Location"]) == "/account"
    assert webapp.link_of(user_id).state is LinkState.UNLINKED
    page = done.follow(status=200)
    assert page.html.find(id="unlinked-notice")
    assert page.html.find(id="link-state").get_text(strip=True) == "Not linked"
    config = json.loads(page.html.find(id="kzlink-account").string)
    assert config == {"unlinked": True}
    assert page.forms.get("unlink-form") is None
    # The notice shows once.
    again = shopper.get("/account")
    assert not again.html.find(id="unlinked-notice")


def test_unlink_as_json(webapp, kazaplan, linked):
    shopper, user_id = linked
    headers = {"X-CSRF-Token": shopper.csrf_token(), "Accept": "application/json"}

    first = shopper.post("/kazaplan/unlink", headers=headers)
    second = shopper.post("/kazaplan/unlink", headers=headers)

    assert first.json == {"unlinked": True}
    assert second.json == {"unlinked": False}
    assert webapp.link_of(user_id).state is LinkState.UNLINKED


def test_unlink_needs_csrf_and_a_session(webapp, kazaplan, linked):
    shopper, user_id = linked

    shopper.post("/kazaplan/unlink", status=403)
    stranger = webapp.shopper()
    token = stranger.csrf_token()
    stranger.post("/kazaplan/unlink", {"csrf_token": token}, status=401)

    assert webapp.link_of(user_id).state is LinkState.LINKED
