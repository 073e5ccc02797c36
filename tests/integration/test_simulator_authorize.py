"""The simulator's authorize pages, driven over HTTP like a shopper would."""

import requests

from kzlink.domain.authorization import code_challenge
from kzlink.simulator.state import Client
from tests.fixtures.simulator import (
    TEST_REDIRECT_URI,
    callback_params,
    cookieless_session,
    parse_forms,
    submit,
)

VERIFIER = "v" * 20 + "-verifier-of-pkce-long-enough-123"


def get(url):
    return requests.get(url, allow_redirects=False, timeout=10)


def test_one_click_sign_up_then_accept_returns_a_code_and_the_state(kazaplan):
    page = get(kazaplan.authorize_link(email="new@example.com"))

    assert page.status_code == 200
    assert "kazaplan-account" in parse_forms(page.text)
    assert "X-Frame-Options" not in page.headers
    consent = submit(requests, page, "kazaplan-account", ("action", "signup"))
    assert "Account created for" in consent.text
    back = submit(requests, consent, "kazaplan-consent", ("decision", "accept"))

    params = callback_params(back)
    assert back.headers["Location"].startswith(TEST_REDIRECT_URI + "?")
    assert params["state"] == "state-1234"
    assert params["code"]
    assert kazaplan.sim.user_by_email("new@example.com") is not None


def test_a_known_email_signs_in_to_the_same_account(kazaplan):
    known = kazaplan.sim.sign_up("known@example.com")

    page = get(kazaplan.authorize_link(email="known@example.com"))
    assert "Sign in as known@example.com" in page.text
    consent = submit(requests, page, "kazaplan-account", ("action", "signin"))

    assert "Signed in as" in consent.text
    assert kazaplan.sim.user_by_email("known@example.com") == known


def test_another_email_can_be_used(kazaplan):
    page = get(kazaplan.authorize_link(email="first@example.com"))
    form = ("action", "signup")
    consent = submit(
        requests, page, "kazaplan-account", form, email="other@example.com"
    )

    assert "other@example.com" in consent.text
    assert kazaplan.sim.user_by_email("other@example.com") is not None
    assert kazaplan.sim.user_by_email("first@example.com") is None


def test_an_invalid_email_shows_the_form_again(kazaplan):
    page = get(kazaplan.authorize_link())
    again = submit(requests, page, "kazaplan-account", ("action", "x"), email="nope")

    assert again.status_code == 400
    assert "valid email" in again.text
    assert "kazaplan-account" in parse_forms(again.text)


def test_refusing_sends_access_denied_with_the_state(kazaplan):
    params = kazaplan.authorize(decision="refuse")

    assert params["error"] == "access_denied"
    assert params["state"] == "state-1234"
    assert "code" not in params


def test_the_flow_works_without_any_cookie(kazaplan):
    session = cookieless_session()
    page = session.get(kazaplan.authorize_link(), timeout=10)
    consent = submit(session, page, "kazaplan-account", ("action", "signup"))
    back = submit(session, consent, "kazaplan-consent", ("decision", "accept"))

    assert callback_params(back)["code"]
    assert not any("Set-Cookie" in r.headers for r in (page, consent, back))
    assert len(session.cookies) == 0


def test_a_forged_flow_field_is_refused(kazaplan):
    page = get(kazaplan.authorize_link())
    consent = submit(requests, page, "kazaplan-account", ("action", "signup"))
    flow = parse_forms(consent.text)["kazaplan-consent"]["fields"]["flow"]
    body, _, mac = flow.partition(".")
    forged_mac = ("0" if mac[0] != "0" else "1") + mac[1:]

    forged = submit(
        requests,
        consent,
        "kazaplan-consent",
        ("decision", "accept"),
        flow=f"{body}.{forged_mac}",
    )

    assert forged.status_code == 400
    assert "Location" not in forged.headers


def test_the_account_step_flow_cannot_skip_to_consent(kazaplan):
    page = get(kazaplan.authorize_link())
    flow = parse_forms(page.text)["kazaplan-account"]["fields"]["flow"]
    url = kazaplan.authorize_url + "/consent"

    answer = requests.post(url, data={"flow": flow, "decision": "accept"}, timeout=10)

    assert answer.status_code == 400


def test_an_unknown_client_gets_an_error_page_not_a_redirect(kazaplan):
    answer = get(kazaplan.authorize_link(client_id="nobody"))

    assert answer.status_code == 400
    assert "Location" not in answer.headers
    assert "client_id" in answer.text


def test_an_unregistered_redirect_uri_gets_an_error_page(kazaplan):
    answer = get(kazaplan.authorize_link(redirect_uri="http://evil.test/callback"))

    assert answer.status_code == 400
    assert "Location" not in answer.headers
    assert "evil.test" not in answer.text


def test_a_wrong_client_secret_gets_an_error_page_without_the_secret(kazaplan):
    answer = get(kazaplan.authorize_link(client_secret="guess-what"))

    assert answer.status_code == 400
    assert "Location" not in answer.headers
    assert "guess-what" not in answer.text


def test_an_absent_client_secret_is_accepted(kazaplan):
    assert kazaplan.authorize(client_secret=None)["code"]


def test_another_response_type_goes_back_as_unsupported(kazaplan):
    answer = get(kazaplan.authorize_link(response_type="token"))

    params = callback_params(answer)
    assert params["error"] == "unsupported_response_type"
    assert params["state"] == "state-1234"


def test_a_missing_response_type_goes_back_as_invalid_request(kazaplan):
    answer = get(kazaplan.authorize_link(response_type=None))

    assert callback_params(answer)["error"] == "invalid_request"


def test_pkce_s256_is_accepted(kazaplan):
    challenge = code_challenge(VERIFIER)

    params = kazaplan.authorize(code_challenge=challenge, code_challenge_method="S256")

    assert params["code"]


def test_pkce_plain_is_refused(kazaplan):
    answer = get(
        kazaplan.authorize_link(code_challenge=VERIFIER, code_challenge_method="plain")
    )

    assert callback_params(answer)["error"] == "invalid_request"


def test_pkce_without_method_means_plain_and_is_refused(kazaplan):
    answer = get(kazaplan.authorize_link(code_challenge=code_challenge(VERIFIER)))

    assert callback_params(answer)["error"] == "invalid_request"


def test_a_malformed_challenge_is_refused(kazaplan):
    answer = get(
        kazaplan.authorize_link(code_challenge="short", code_challenge_method="S256")
    )

    assert callback_params(answer)["error"] == "invalid_request"


def test_an_expired_flow_is_refused(kazaplan, simulator_clock):
    page = get(kazaplan.authorize_link())
    simulator_clock.advance(seconds=kazaplan.sim.flow_lifetime.total_seconds() + 1)

    answer = submit(requests, page, "kazaplan-account", ("action", "signup"))

    assert answer.status_code == 400
    assert "expired" in answer.text


def test_the_redirect_keeps_the_query_of_the_redirect_uri(kazaplan):
    redirect_uri = "http://partner.test/cb?tenant=7"
    kazaplan.sim.register_client(
        Client("with-query", "s", (redirect_uri,), "with-query", "http://partner.test")
    )

    params = kazaplan.authorize(
        client_id="with-query", client_secret="s", redirect_uri=redirect_uri
    )

    assert params["tenant"] == "7"
    assert params["code"]
