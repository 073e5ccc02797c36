"""The whole linking flow with every logger at DEBUG: no secret in the output.

Every logger means the libraries too: SQLAlchemy echoing statements, their
parameters and the rows read, urllib3 printing request lines, waitress serving
the simulator. What must never show: passwords, tickets, states, codes, code
verifiers, access and refresh tokens, the client secret, the session secret,
the token keys, the session cookies' values and the CSRF token.

The app is built with the redaction not yet installed, as in a fresh process:
installing it is kzlink's start-up's job, and without it this test fails.
"""

import io
import logging

import pytest
from sqlalchemy import select

from kzlink import redaction
from kzlink.adapters.sql.models import PendingAuthorizationRow
from kzlink.adapters.sql.pending import verifier_context
from kzlink.domain.authorization import digest
from tests.fixtures.simulator import query_params, walk_authorize
from tests.fixtures.webapp import PASSWORD, path_of

LIBRARIES = ("sqlalchemy.engine", "sqlalchemy.pool", "urllib3", "waitress", "kzlink")
SESSION_COOKIES = ("kzlink_session", "kzlink_frame")


@pytest.fixture
def webapp(make_webapp):
    # An earlier test of this process may have installed it already.
    redaction.uninstall()
    return make_webapp()


@pytest.fixture
def log_output(caplog):
    """Everything logged during the test, formatted as a real handler would."""
    caplog.set_level(logging.DEBUG)
    # Loggers that exist already may have a level of their own; the others
    # inherit the root's.
    for name in {*LIBRARIES, *logging.root.manager.loggerDict}:
        caplog.set_level(logging.DEBUG, logger=name)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    logging.getLogger().addHandler(handler)
    yield stream
    logging.getLogger().removeHandler(handler)


class Secrets:
    def __init__(self):
        self.values = {}

    def add(self, kind, value):
        assert value, kind
        self.values.setdefault(kind, set()).add(value)

    def add_link(self, webapp, user_id):
        link = webapp.link_of(user_id)
        self.add("access token", link.tokens.access_token)
        self.add("refresh token", link.tokens.refresh_token)

    def add_cookies(self, *browsers):
        """The session cookies as they are now: each change re-signs them."""
        for browser in browsers:
            for cookie in browser.app.cookiejar:
                if cookie.name in SESSION_COOKIES and cookie.value:
                    self.add("session cookie", cookie.value)


def code_verifier(webapp, state):
    with webapp.app.registry.dbsession_factory() as session:
        row = session.execute(
            select(PendingAuthorizationRow).filter_by(digest=digest(state))
        ).scalar_one()
    return webapp.cipher.decrypt(row.code_verifier, verifier_context(row.digest))


def run_the_whole_flow(webapp, kazaplan, secrets):
    top = webapp.shopper()
    top.register("logs@example.com")
    user_id = webapp.user_id("logs@example.com")
    csrf = top.planner_config()["csrfToken"]
    secrets.add("csrf token", csrf)
    secrets.add_cookies(top)

    ticket = top.post(
        "/kazaplan/enrollment_ticket", headers={"X-CSRF-Token": csrf}
    ).json["ticket"]
    frame = webapp.shopper()
    form = frame.get("/kazaplan/enroll").forms["kzlink-ticket-form"]
    form["ticket"] = ticket
    form.submit(status=303)
    authorize_url = frame.get("/kazaplan/enroll", status=302).headers["Location"]
    callback = walk_authorize(authorize_url)
    secrets.add_cookies(frame)
    frame.get(path_of(callback), status=303).follow(status=200)
    secrets.add_cookies(top, frame)
    state, code = query_params(callback)["state"], query_params(callback)["code"]
    secrets.add("ticket", ticket)
    secrets.add("state", state)
    secrets.add("code", code)
    secrets.add("code verifier", code_verifier(webapp, state))
    secrets.add_link(webapp, user_id)

    webapp.expire_stored_token(user_id)
    refreshed = top.post_json(
        "/kazaplan/refresh_token", {}, headers={"X-CSRF-Token": csrf}
    )
    assert kazaplan.sim.grant_count("refresh_token") == 1
    secrets.add_link(webapp, user_id)
    secrets.add("access token", refreshed.json["access_token"])
    secrets.add_cookies(top)

    kazaplan.sim.revoke_refresh_tokens()
    webapp.expire_stored_token(user_id)
    top.post_json(
        "/kazaplan/refresh_token", {}, headers={"X-CSRF-Token": csrf}, status=409
    )
    top.post("/kazaplan/unlink", {"csrf_token": csrf}, status=303)
    assert top.log_in("logs@example.com", "not the password").status_int == 400
    secrets.add("password", "not the password")
    secrets.add_cookies(top, frame)


def test_no_secret_reaches_any_log(webapp, kazaplan, caplog, log_output):
    secrets = Secrets()
    secrets.add("password", PASSWORD)
    secrets.add("client secret", webapp.settings.client_secret)
    secrets.add("session secret", webapp.settings.session_secret)
    for key in webapp.settings.token_keys.split(","):
        secrets.add("token key", key.strip())

    run_the_whole_flow(webapp, kazaplan, secrets)

    output = log_output.getvalue() + caplog.text
    kinds = {
        "access token",
        "refresh token",
        "code",
        "state",
        "client secret",
        "session cookie",
        "csrf token",
        "password",
    }
    assert kinds <= secrets.values.keys()
    # The capture works: library records are in it, SQL parameters included.
    for expected in ("sqlalchemy.engine", "urllib3", "UPDATE links", "kzlink"):
        assert expected in output, expected
    leaks = {
        kind: [value for value in values if value in output]
        for kind, values in secrets.values.items()
    }
    assert {kind: found for kind, found in leaks.items() if found} == {}
