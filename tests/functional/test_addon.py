"""kzlink as an add-on: ``config.include("kzlink")`` in a partner's own Pyramid
app with its own user store, and enrollment through it."""

import json
import os
import threading

import pytest
from pyramid.config import Configurator
from pyramid.csrf import get_csrf_token
from pyramid.response import Response
from zope.interface import implementer

from kzlink.adapters.cipher import TokenCipher, generate_key
from kzlink.adapters.sql import SqlLinkStore
from kzlink.domain.model import LinkState, PartnerUser
from kzlink.domain.ports import ISession, IUserStore
from tests.fixtures.databases import fresh_database
from tests.fixtures.simulator import TEST_CLIENT, query_params, walk_authorize
from tests.fixtures.webapp import (
    PUBLIC_URL,
    WIDGET_ORIGIN,
    Shopper,
    path_of,
)


@implementer(IUserStore)
class PartnerUsers:
    """The partner's own user store, named by ``kzlink.user_store``."""

    _users = {"p-1": PartnerUser(id="p-1", email="partner-shopper@example.com")}
    _lock = threading.Lock()

    def __init__(self, request):
        self.request = request

    def get(self, user_id):
        with self._lock:
            return self._users.get(user_id)


def partner_sign_in(request):
    """The partner's own login, which tells kzlink who is signed in."""
    user_id = request.matchdict["user_id"]
    if PartnerUsers(request).get(user_id) is None:
        return Response(status=404)
    request.find_service(ISession).sign_in(user_id)
    return Response(json_body={"csrf_token": get_csrf_token(request)})


class PartnerDatabase:
    """Stands for the partner's own database session, which a Pyramid project
    made from the starter keeps as ``request.dbsession``."""


def partner_app(settings):
    with Configurator(settings=settings) as config:
        config.include("kzlink")
        # kzlink's own session has another name: this one must not replace it.
        config.add_request_method(
            lambda request: PartnerDatabase(), "dbsession", reify=True
        )
        config.add_route("partner.sign_in", "/partner/sign_in/{user_id}")
        config.add_view(
            partner_sign_in,
            route_name="partner.sign_in",
            request_method="POST",
            require_csrf=False,
        )
    return config.make_wsgi_app()


@pytest.fixture
def addon(request, tmp_path, kazaplan, monkeypatch):
    for name in [name for name in os.environ if name.startswith("KZLINK_")]:
        monkeypatch.delenv(name)
    key = generate_key()
    with fresh_database(request, "sqlite", tmp_path) as url:
        app = partner_app(
            {
                "sqlalchemy.url": url,
                "kzlink.user_store": f"{__name__}.PartnerUsers",
                "kzlink.public_url": PUBLIC_URL,
                "kzlink.widget_origin": WIDGET_ORIGIN,
                "kzlink.kazaplan.authorize_url": kazaplan.authorize_url,
                "kzlink.kazaplan.api_url": kazaplan.api_url,
                "kzlink.client_id": TEST_CLIENT.client_id,
                "kzlink.client_secret": TEST_CLIENT.client_secret,
                "kzlink.partner_key": TEST_CLIENT.partner_key,
                "kzlink.session_secret": "add-on-session-secret",
                "kzlink.token_keys": key,
            }
        )
        yield app, TokenCipher.from_setting(key)
        app.registry.dbsession_factory.kw["bind"].dispose()


def stored_link(app, cipher, user_id):
    dbsession = app.registry.dbsession_factory()
    try:
        return SqlLinkStore(dbsession, cipher).get(user_id)
    finally:
        dbsession.close()


def test_enroll_and_callback_through_the_partner_app(addon, kazaplan):
    app, cipher = addon
    page = Shopper(app)
    csrf = page.post("/partner/sign_in/p-1").json["csrf_token"]
    ticket = page.post(
        "/kazaplan/enrollment_ticket", headers={"X-CSRF-Token": csrf}
    ).json["ticket"]

    frame = Shopper(app)
    form = frame.get("/kazaplan/enroll", status=200).forms["kzlink-ticket-form"]
    form["ticket"] = ticket
    form.submit(status=303)
    authorize_url = frame.get("/kazaplan/enroll", status=302).headers["Location"]
    assert query_params(authorize_url)["email"] == "partner-shopper@example.com"
    handover = frame.get(path_of(walk_authorize(authorize_url)), status=303).follow()

    link = stored_link(app, cipher, "p-1")
    assert link.state is LinkState.LINKED
    assert (
        link.kazaplan_user_id
        == kazaplan.sim.user_by_email("partner-shopper@example.com").id
    )
    token = json.loads(handover.html.find(id="kzlink-handover").string)["token"]
    assert token == link.access_token
    refreshed = page.post_json(
        "/kazaplan/refresh_token", {}, headers={"X-CSRF-Token": csrf}
    )
    assert refreshed.json["access_token"] == link.access_token


def test_partner_app_keeps_its_own_pages(addon):
    app, cipher = addon
    frame = Shopper(app)

    page = frame.get("/kazaplan/enroll", status=200)

    # Without a route named "login", the handshake falls back to /login.
    config = json.loads(page.html.find(id="kzlink-handshake").string)
    assert path_of(config["loginUrl"]).startswith("/login?access_method=kazaplan")
    # The demo site is not part of the add-on.
    frame.get("/", status=404)
    frame.get("/account", status=404)
