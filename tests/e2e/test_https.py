"""The shopper's journeys again, with kzlink served over https as in production.

Over plain http Pyramid does not check where a post comes from; over https it
refuses any post whose ``Origin`` is not kzlink's own site, and Chromium sends
``Origin: null`` from a page that asked for ``Referrer-Policy: no-referrer``.
Here kzlink and its built-in simulator are served over TLS on loopback, partner
pages on ``https://127.0.0.1`` and the widget on ``https://localhost``, so that
the form posts and JSON calls of each journey meet that check as they would in
production. kzlink's own calls to the simulator go over TLS too, trusting the
test authority only.

This module replaces the shared http server and browser contexts of
``conftest`` by https ones; the shopper and its steps are the same.
"""

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine

from tests.e2e.conftest import (
    Database,
    Server,
    environment,
    kzlink_app,
    new_browser_context,
)
from tests.e2e.journeys import (
    PASSWORD,
    assert_linked,
    link_signed_in_shopper,
    new_email,
    stored_plans,
)
from tests.e2e.tls import TlsServer, issue_certificates

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def e2e_server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("e2e-https")
    certificates = issue_certificates(directory)
    server = TlsServer(certificates)
    environ = environment(
        server.port, f"sqlite:///{directory / 'e2e.sqlite'}", scheme="https"
    )
    with pytest.MonkeyPatch.context() as patch:
        # requests reads it at every call: kzlink's calls to the simulator
        # verify the server's certificate against the test authority.
        patch.setenv("REQUESTS_CA_BUNDLE", str(certificates.authority))
        app = kzlink_app(environ)
        server.set_app(app)
        server.start()
        engine = create_engine(environ["KZLINK_DATABASE_URL"])
        yield Server(
            partner_url=environ["KZLINK_PUBLIC_URL"],
            widget_url=environ["KZLINK_WIDGET_ORIGIN"],
            sim=app.registry.kazaplan_simulator,
            db=Database(engine),
        )
        engine.dispose()
        server.stop()


@pytest.fixture
def browser_context(mode, request, playwright, tmp_path):
    # Chromium does not know the test authority; kzlink's requests do.
    context = new_browser_context(
        mode, request, playwright, tmp_path, ignore_https_errors=True
    )
    yield context
    context.close()


def watch_posts(shopper, path: str) -> list:
    """The POST requests to a partner ``path`` (query included, if any) that
    the tab sends from now on, from any of its frames, to read their headers
    and answers later."""
    target = shopper.url(path)
    posts = []

    def note(request):
        if request.method == "POST" and request.url == target:
            posts.append(request)

    shopper.page.on("request", note)
    return posts


def assert_accepted(posts: list, origin: str, status: int) -> None:
    """Each post carried ``origin`` and got ``status``, not the CSRF refusal."""
    assert posts, "the post was never sent"
    for post in posts:
        assert (post.header_value("origin"), post.response().status) == (
            origin,
            status,
        ), post.url


def test_the_sites_are_served_over_https(shopper, e2e_server):
    assert e2e_server.partner_url.startswith("https://127.0.0.1:")
    assert e2e_server.widget_url.startswith("https://localhost:")
    shopper.open_planner()
    assert shopper.page.evaluate("window.isSecureContext")
    assert shopper.page.evaluate("location.protocol") == "https:"
    widget = shopper.page.frame_locator("iframe[src*='/simulator/widget']")
    expect(widget.locator("#kz-status")).to_have_text("Ready")


def test_signed_in_shopper_links_through_the_ticket(shopper, e2e_server):
    email = new_email("https-signed-in", shopper.mode)
    shopper.register(email, PASSWORD)
    shopper.open_planner()
    shopper.draw(2)
    tickets = watch_posts(shopper, "/kazaplan/enroll/ticket")
    before = len(shopper.requests)
    shopper.save("Study")

    shopper.expect_enroll_modal()
    shopper.link_on_kazaplan()
    shopper.expect_saved()

    # The enroll frame redeemed the planner page's ticket with its form post,
    # which the origin check let through: no sign-in was asked for.
    assert_accepted(tickets, e2e_server.partner_url, 303)
    assert shopper.requested("/login", since=before) == []
    assert stored_plans(e2e_server, email) == [("Study", 2)]
    assert_linked(e2e_server, email)


def test_new_shopper_signed_in_in_the_modal_is_signed_in_at_top(shopper, e2e_server):
    email = new_email("https-new", shopper.mode)
    shopper.open_planner()
    shopper.draw(1)
    top_sign_ins = watch_posts(shopper, "/kazaplan/session_ticket")
    shopper.save("Porch")

    shopper.expect_enroll_modal()
    shopper.expect_modal_at("/login", access_method="kazaplan")
    shopper.register_in_modal(email, PASSWORD)
    shopper.link_on_kazaplan()
    shopper.expect_saved()
    assert stored_plans(e2e_server, email) == [("Porch", 1)]
    assert_linked(e2e_server, email)

    # The hand-over page gave the planner page a ticket of the frame's
    # shopper, and the planner page's JSON post redeeming it passed the origin
    # check.
    shopper.expect_signed_in_at_top(email)
    assert_accepted(top_sign_ins, e2e_server.partner_url, 200)


def test_signing_out_on_the_planner_page(shopper, e2e_server):
    email = new_email("https-sign-out", shopper.mode)
    shopper.register(email, PASSWORD)
    sign_outs = watch_posts(shopper, "/logout")

    shopper.log_out()

    assert_accepted(sign_outs, e2e_server.partner_url, 303)
    expect(shopper.page).to_have_url(shopper.url("/"))
    expect(shopper.page.locator("#nav-sign-in")).to_be_visible()
    # Signed out for the server too, not only in the page's header.
    shopper.page.goto(shopper.url("/account"))
    expect(shopper.page).to_have_url(shopper.url("/login?next=%2Faccount"))


def test_expired_token_is_refreshed_from_the_planner_page(shopper, e2e_server):
    email = new_email("https-expired", shopper.mode)
    link_signed_in_shopper(shopper, email, plan="Loft", items=2)
    refreshes = e2e_server.sim.grant_count("refresh_token")

    e2e_server.sim.expire_access_tokens()
    posts = watch_posts(shopper, "/kazaplan/refresh_token")
    shopper.draw(1)
    shopper.save()
    shopper.expect_saved()

    assert_accepted(posts, e2e_server.partner_url, 200)
    assert e2e_server.sim.grant_count("refresh_token") == refreshes + 1
    assert stored_plans(e2e_server, email) == [("Loft", 3)]
    assert_linked(e2e_server, email)
