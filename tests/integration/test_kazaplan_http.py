"""The Kazaplan HTTP adapter against the simulator, over real HTTP on loopback."""

import logging
import socket
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from zope.interface.verify import verifyObject

from kzlink import redaction
from kzlink.adapters.kazaplan_http import HttpKazaplan
from kzlink.domain import errors
from kzlink.domain.authorization import code_challenge
from kzlink.domain.ports import IKazaplan
from kzlink.settings import DOCUMENTED_SCOPE
from tests.fixtures.simulator import TEST_CLIENT, query_params, serve, walk_authorize

REDIRECT_URI = TEST_CLIENT.redirect_uris[0]
EMAIL = "shopper@example.com"


def make_adapter(authorize_url, api_url, secret=TEST_CLIENT.client_secret, **options):
    return HttpKazaplan(
        authorize_endpoint=authorize_url,
        api_url=api_url,
        client_id=TEST_CLIENT.client_id,
        client_secret=secret,
        scope=DOCUMENTED_SCOPE,
        timeout=(1.0, 1.0),
        **options,
    )


@pytest.fixture
def adapter(kazaplan):
    return make_adapter(kazaplan.authorize_url, kazaplan.api_url)


def authorization_code(adapter, challenge=None, decision="accept", email=EMAIL):
    url = adapter.authorize_url("a-state", REDIRECT_URI, email, challenge)
    return query_params(walk_authorize(url, decision=decision))


def linked_tokens(adapter):
    return adapter.exchange_code(authorization_code(adapter)["code"], REDIRECT_URI)


def test_adapter_provides_the_port(adapter):
    assert verifyObject(IKazaplan, adapter)


def test_authorize_url_carries_the_documented_parameters(adapter):
    url = adapter.authorize_url("the-state", REDIRECT_URI, EMAIL)

    params = parse_qs(urlsplit(url).query)
    assert params == {
        "client_id": [TEST_CLIENT.client_id],
        "client_secret": [TEST_CLIENT.client_secret],
        "scope": [DOCUMENTED_SCOPE],
        "redirect_uri": [REDIRECT_URI],
        "response_type": ["code"],
        "email": [EMAIL],
        "state": ["the-state"],
    }


def test_authorize_url_leaves_the_secret_out_when_told(kazaplan):
    adapter = make_adapter(
        kazaplan.authorize_url, kazaplan.api_url, secret_in_authorize_url=False
    )

    url = adapter.authorize_url("s", REDIRECT_URI, EMAIL, code_challenge("v" * 43))

    params = parse_qs(urlsplit(url).query)
    assert "client_secret" not in params
    assert params["code_challenge"] == [code_challenge("v" * 43)]
    assert params["code_challenge_method"] == ["S256"]


def test_the_authorize_page_sends_back_code_and_state(adapter):
    params = authorization_code(adapter)

    assert params["state"] == "a-state"
    assert params["code"]


def test_code_exchange_returns_tokens_that_name_the_user(adapter, kazaplan):
    before = datetime.now(UTC)

    tokens = linked_tokens(adapter)

    assert tokens.access_token != tokens.refresh_token
    lifetime = kazaplan.sim.token_lifetime
    assert before + lifetime - timedelta(seconds=5) <= tokens.expires_at
    assert tokens.expires_at <= datetime.now(UTC) + lifetime
    user = adapter.fetch_user(tokens.access_token)
    assert user.email == EMAIL
    assert user.id == kazaplan.sim.user_by_email(EMAIL).id


def test_a_code_works_once(adapter):
    code = authorization_code(adapter)["code"]
    adapter.exchange_code(code, REDIRECT_URI)

    with pytest.raises(errors.CodeRefusedError):
        adapter.exchange_code(code, REDIRECT_URI)


def test_the_exchange_must_repeat_the_redirect_uri(adapter):
    code = authorization_code(adapter)["code"]

    with pytest.raises(errors.CodeRefusedError):
        adapter.exchange_code(code, "http://partner.test/elsewhere")


def test_pkce_verifier_is_checked(adapter):
    verifier = "a-verifier-" * 5
    code = authorization_code(adapter, challenge=code_challenge(verifier))["code"]

    with pytest.raises(errors.CodeRefusedError):
        adapter.exchange_code(code, REDIRECT_URI, "another-verifier-" * 3)


def test_pkce_verifier_that_matches_is_accepted(adapter):
    verifier = "a-verifier-" * 5
    code = authorization_code(adapter, challenge=code_challenge(verifier))["code"]

    assert adapter.exchange_code(code, REDIRECT_URI, verifier).access_token


def test_wrong_client_secret_is_a_client_fault(adapter, kazaplan):
    code = authorization_code(adapter)["code"]
    impostor = make_adapter(kazaplan.authorize_url, kazaplan.api_url, secret="wrong")

    with pytest.raises(errors.ClientRejectedError):
        impostor.exchange_code(code, REDIRECT_URI)


def test_refresh_rotates_the_refresh_token(adapter, kazaplan):
    first = linked_tokens(adapter)

    second = adapter.refresh(first.refresh_token)

    assert second.access_token != first.access_token
    assert second.refresh_token != first.refresh_token
    assert adapter.fetch_user(second.access_token).email == EMAIL
    assert kazaplan.sim.grant_count("refresh_token") == 1
    with pytest.raises(errors.RefreshRefusedError) as refused:
        adapter.refresh(first.refresh_token)
    assert first.refresh_token not in str(refused.value)


def test_revoked_refresh_token_is_refused(adapter, kazaplan):
    tokens = linked_tokens(adapter)
    kazaplan.sim.revoke_refresh_tokens()

    with pytest.raises(errors.RefreshRefusedError):
        adapter.refresh(tokens.refresh_token)


def test_expired_access_token_is_rejected(adapter, kazaplan):
    tokens = linked_tokens(adapter)
    kazaplan.sim.expire_access_tokens()

    with pytest.raises(errors.AccessTokenRejectedError):
        adapter.fetch_user(tokens.access_token)
    with pytest.raises(errors.AccessTokenRejectedError):
        adapter.list_plans(tokens.access_token)


def test_unknown_access_token_is_rejected(adapter):
    with pytest.raises(errors.AccessTokenRejectedError):
        adapter.fetch_user("not-a-token")


def test_plans_saved_through_the_widget_are_listed(adapter, kazaplan):
    tokens = linked_tokens(adapter)
    saved = requests.post(
        f"{kazaplan.base_url}/widget/plans",
        json={"name": "Kitchen", "items": ["sink", "oven"]},
        headers={"Authorization": f"Bearer {tokens.access_token}"},
        timeout=5,
    )
    assert saved.status_code in (200, 201), saved.text

    page = adapter.list_plans(tokens.access_token)

    assert [plan.title for plan in page.plans] == ["Kitchen"]
    assert page.count == 1
    assert page.plans[0].created_at is not None


@pytest.mark.parametrize("fault", ["error", "garbage", "slow"])
def test_kazaplan_faults_are_unavailability(adapter, kazaplan, fault):
    tokens = linked_tokens(adapter)
    kazaplan.sim.slow_seconds = 2.5
    kazaplan.sim.fault = fault

    with pytest.raises(errors.KazaplanUnavailableError):
        adapter.refresh(tokens.refresh_token)
    with pytest.raises(errors.KazaplanUnavailableError):
        adapter.fetch_user(tokens.access_token)
    with pytest.raises(errors.KazaplanUnavailableError):
        adapter.exchange_code("any-code", REDIRECT_URI)


def answering(raw_json: str):
    """A WSGI app that answers every request with ``raw_json``, status 200."""

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        return [raw_json.encode()]

    return app


TOKEN = '"access_token": "a", "refresh_token": "r", "token_type": "Bearer"'
USER = '"email": "shopper@example.com"'


@pytest.mark.parametrize(
    "call, raw_json",
    [
        ("refresh", "{" + TOKEN + ', "expires_in": 1e400}'),
        ("refresh", "{" + TOKEN + ', "expires_in": 100000000000000000000}'),
        ("refresh", "{" + TOKEN + ', "expires_in": 0}'),
        ("refresh", "{" + TOKEN + ', "expires_in": 3600.5}'),
        ("refresh", "{" + TOKEN + ', "expires_in": true}'),
        ("refresh", "{" + TOKEN + ', "expires_in": "soon"}'),
        ("fetch_user", "{" + USER + ', "id": 1e400}'),
        ("fetch_user", "{" + USER + ', "id": 9223372036854775808}'),
        ("fetch_user", "{" + USER + ', "id": -4}'),
        ("fetch_user", "{" + USER + ', "id": 12, "nbPlans": 1e400}'),
        ("list_plans", '{"results": [], "page": 1e400}'),
        ("list_plans", '{"results": [], "count": -1}'),
        ("list_plans", '{"results": [{"title": "no id"}]}'),
    ],
)
def test_numbers_out_of_shape_are_unavailability(kazaplan, call, raw_json):
    with serve(answering(raw_json)) as odd_kazaplan:
        adapter = make_adapter(kazaplan.authorize_url, odd_kazaplan)

        with pytest.raises(errors.KazaplanUnavailableError):
            getattr(adapter, call)("a-token")


@pytest.mark.parametrize("expires_in", ['"3600"', "3600.0", "3600"])
def test_a_lifetime_given_as_text_or_whole_float_is_read(kazaplan, expires_in):
    raw_json = "{" + TOKEN + f', "expires_in": {expires_in}}}'
    with serve(answering(raw_json)) as odd_kazaplan:
        adapter = make_adapter(kazaplan.authorize_url, odd_kazaplan)
        before = datetime.now(UTC)

        tokens = adapter.refresh("a-token")

    lifetime = tokens.expires_at - before
    assert timedelta(hours=1) <= lifetime < timedelta(hours=1, minutes=1)


def test_unreachable_kazaplan_is_unavailability(kazaplan):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    adapter = make_adapter(kazaplan.authorize_url, closed)

    with pytest.raises(errors.KazaplanUnavailableError):
        adapter.refresh("a-refresh-token")
    with pytest.raises(errors.KazaplanUnavailableError):
        adapter.fetch_user("an-access-token")


def test_no_token_reaches_the_logs(adapter, caplog):
    # As in a running kzlink, whose start-up installs the redaction.
    redaction.install()

    with caplog.at_level(logging.DEBUG):
        tokens = linked_tokens(adapter)
        refreshed = adapter.refresh(tokens.refresh_token)
        adapter.fetch_user(refreshed.access_token)
        with pytest.raises(errors.RefreshRefusedError):
            adapter.refresh(tokens.refresh_token)

    for secret in (
        tokens.access_token,
        tokens.refresh_token,
        refreshed.access_token,
        refreshed.refresh_token,
        TEST_CLIENT.client_secret,
    ):
        assert secret not in caplog.text
