"""The simulator mounted in a host application, served by the paste factory, or
run as a command."""

import subprocess
import sys

import pytest
import requests
from pyramid.config import Configurator
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED, Denied

from kzlink import settings
from kzlink.simulator import paste_app
from tests.fixtures.simulator import cookieless_session, serve, submit


class DenyEverything:
    """A host's security policy that grants nothing to anyone."""

    def identity(self, request):
        return None

    def authenticated_userid(self, request):
        return None

    def permits(self, request, context, permission):
        return Denied("no")


def host_app():
    with Configurator(settings={}) as config:
        config.registry.kzlink_settings = settings.load(
            {
                "kzlink.public_url": "http://shop.test",
                "kzlink.client_id": "host-client",
                "kzlink.client_secret": "host-secret",
                "kzlink.partner_key": "host-key",
                "kzlink.simulator.token_lifetime": "180",
            },
            environ={},
        )
        config.set_default_csrf_options(require_csrf=True)
        config.set_security_policy(DenyEverything())
        config.set_default_permission("edit")
        config.add_route("authorize", "/authorize")
        config.add_view(
            lambda request: Response("host"),
            route_name="authorize",
            permission=NO_PERMISSION_REQUIRED,
        )
        config.include("kzlink.simulator", route_prefix="/simulator")
    return config.make_wsgi_app()


@pytest.fixture(scope="module")
def host():
    app = host_app()
    with serve(app) as origin:
        yield origin, app.registry.kazaplan_simulator


def test_a_host_with_csrf_and_permissions_still_serves_the_simulator(host):
    origin, sim = host
    base = origin + "/simulator"
    session = cookieless_session()
    page = session.get(
        base + "/authorize",
        params={
            "client_id": "host-client",
            "redirect_uri": "http://shop.test/kazaplan/oauth/callback",
            "response_type": "code",
            "email": "host@example.com",
        },
        timeout=10,
    )
    consent = submit(session, page, "kazaplan-account", ("action", "signup"))
    back = submit(session, consent, "kazaplan-consent", ("decision", "accept"))
    code = back.headers["Location"].split("code=")[1]

    answer = session.post(
        base + "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://shop.test/kazaplan/oauth/callback",
        },
        auth=("host-client", "host-secret"),
        timeout=10,
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["expires_in"] == 180
    assert sim.client_by_partner_key("host-key").partner_origin == "http://shop.test"
    assert requests.get(origin + "/authorize", timeout=10).text == "host"


def test_the_paste_factory_serves_its_client():
    app = paste_app(
        {},
        **{
            "simulator.client_id": "paste",
            "simulator.client_secret": "paste-secret",
            "simulator.redirect_uris": "http://a.test/cb\nhttp://b.test/cb",
            "simulator.partner_key": "paste-key",
            "simulator.partner_origin": "http://a.test/",
            "simulator.route_prefix": "/kazaplan",
        },
    )

    with serve(app) as origin:
        widget = requests.get(
            origin + "/kazaplan/widget", params={"partnerKey": "paste-key"}, timeout=10
        )
        page = requests.get(
            origin + "/kazaplan/authorize",
            params={
                "client_id": "paste",
                "redirect_uri": "http://b.test/cb",
                "response_type": "code",
            },
            timeout=10,
        )

    assert widget.status_code == 200
    assert widget.headers["Content-Security-Policy"] == "frame-ancestors http://a.test"
    assert page.status_code == 200


def test_the_command_describes_its_options():
    ran = subprocess.run(
        [sys.executable, "-m", "kzlink.simulator", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert ran.returncode == 0
    for option in ["--client-id", "--redirect-uri", "--partner-origin", "--port"]:
        assert option in ran.stdout
