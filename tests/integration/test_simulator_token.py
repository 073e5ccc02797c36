"""The simulator's token endpoint: grants, client authentication, RFC 6749 errors."""

from datetime import timedelta

import pytest
import requests

from kzlink.domain.authorization import code_challenge
from kzlink.simulator.state import Client
from tests.fixtures.simulator import TEST_REDIRECT_URI, client_auth

VERIFIER = "a-pkce-verifier-" + "x" * 40


def post_token(kazaplan, data, auth=None, params=None):
    return requests.post(
        kazaplan.token_url,
        data=data,
        params=params,
        auth=client_auth() if auth is None else auth,
        timeout=10,
    )


def exchange(kazaplan, code, **extra):
    data = {"grant_type": "authorization_code", "code": code}
    data["redirect_uri"] = TEST_REDIRECT_URI
    data.update(extra)
    return post_token(kazaplan, {k: v for k, v in data.items() if v is not None})


def refresh(kazaplan, refresh_token, auth=None):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return post_token(kazaplan, data, auth=auth)


def assert_error(response, error, status=400):
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.json()["error_description"]
    assert response.headers["Cache-Control"] == "no-store"


def test_a_code_is_exchanged_for_bearer_tokens(kazaplan):
    code = kazaplan.authorize()["code"]

    answer = exchange(kazaplan, code)

    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 604799
    assert body["access_token"] and body["refresh_token"]
    assert body["access_token"] != body["refresh_token"]
    assert body["scope"] == kazaplan.authorize_params()["scope"]
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Pragma"] == "no-cache"


def test_the_expiry_follows_the_token_lifetime(kazaplan, monkeypatch):
    monkeypatch.setattr(kazaplan.sim, "token_lifetime", timedelta(seconds=180))

    assert kazaplan.obtain_tokens()["expires_in"] == 180


def test_grant_type_may_be_repeated_in_the_query_string(kazaplan):
    code = kazaplan.authorize()["code"]
    data = {"grant_type": "authorization_code", "code": code}
    data["redirect_uri"] = TEST_REDIRECT_URI

    answer = post_token(kazaplan, data, params={"grant_type": "authorization_code"})

    assert answer.status_code == 200


def test_grant_types_disagreeing_between_query_and_body_are_refused(kazaplan):
    code = kazaplan.authorize()["code"]
    data = {"grant_type": "authorization_code", "code": code}

    answer = post_token(kazaplan, data, params={"grant_type": "refresh_token"})

    assert_error(answer, "invalid_request")


def test_a_code_is_single_use_and_its_reuse_revokes_its_tokens(kazaplan):
    code = kazaplan.authorize()["code"]
    tokens = exchange(kazaplan, code).json()

    again = exchange(kazaplan, code)

    assert_error(again, "invalid_grant")
    assert_error(refresh(kazaplan, tokens["refresh_token"]), "invalid_grant")
    users = requests.get(
        kazaplan.api_url + "/v3/users",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=10,
    )
    assert users.status_code == 401


def test_an_expired_code_is_refused(kazaplan, simulator_clock):
    code = kazaplan.authorize()["code"]
    simulator_clock.advance(seconds=61)

    assert_error(exchange(kazaplan, code), "invalid_grant")


def test_a_code_just_before_its_expiry_is_accepted(kazaplan, simulator_clock):
    code = kazaplan.authorize()["code"]
    simulator_clock.advance(seconds=59)

    assert exchange(kazaplan, code).status_code == 200


def test_an_unknown_code_is_refused(kazaplan):
    assert_error(exchange(kazaplan, "made-up"), "invalid_grant")


def test_the_redirect_uri_must_be_the_authorize_requests(kazaplan):
    code = kazaplan.authorize()["code"]

    other = exchange(kazaplan, code, redirect_uri=TEST_REDIRECT_URI + "/other")
    missing = exchange(kazaplan, code, redirect_uri=None)

    assert_error(other, "invalid_grant")
    assert_error(missing, "invalid_request")


def test_a_missing_code_is_an_invalid_request(kazaplan):
    assert_error(exchange(kazaplan, None), "invalid_request")


def test_a_code_of_another_client_is_refused(kazaplan):
    kazaplan.sim.register_client(
        Client("other-app", "other-secret", (TEST_REDIRECT_URI,), "other", "http://o")
    )
    code = kazaplan.authorize()["code"]
    data = {"grant_type": "authorization_code", "code": code}
    data["redirect_uri"] = TEST_REDIRECT_URI

    answer = post_token(kazaplan, data, auth=("other-app", "other-secret"))

    assert_error(answer, "invalid_grant")


def test_pkce_verifier_is_required_and_checked(kazaplan):
    challenge = code_challenge(VERIFIER)
    code = kazaplan.authorize(code_challenge=challenge, code_challenge_method="S256")[
        "code"
    ]

    assert_error(exchange(kazaplan, code), "invalid_request")
    assert_error(
        exchange(kazaplan, code, code_verifier=VERIFIER + "x"), "invalid_grant"
    )
    assert exchange(kazaplan, code, code_verifier=VERIFIER).status_code == 200


def test_refresh_rotates_the_refresh_token(kazaplan):
    tokens = kazaplan.obtain_tokens()

    renewed = refresh(kazaplan, tokens["refresh_token"])

    assert renewed.status_code == 200
    body = renewed.json()
    assert body["refresh_token"] != tokens["refresh_token"]
    assert body["access_token"] != tokens["access_token"]
    assert body["token_type"] == "Bearer"
    assert renewed.headers["Cache-Control"] == "no-store"
    assert_error(refresh(kazaplan, tokens["refresh_token"]), "invalid_grant")
    assert refresh(kazaplan, body["refresh_token"]).status_code == 200


def test_a_revoked_refresh_token_is_refused(kazaplan):
    tokens = kazaplan.obtain_tokens()
    kazaplan.sim.revoke_refresh_tokens()

    assert_error(refresh(kazaplan, tokens["refresh_token"]), "invalid_grant")


def test_a_refresh_token_of_another_client_is_refused(kazaplan):
    kazaplan.sim.register_client(
        Client("other-app", "other-secret", (TEST_REDIRECT_URI,), "other", "http://o")
    )
    tokens = kazaplan.obtain_tokens()

    answer = refresh(
        kazaplan, tokens["refresh_token"], auth=("other-app", "other-secret")
    )

    assert_error(answer, "invalid_grant")


def test_a_missing_refresh_token_is_an_invalid_request(kazaplan):
    answer = post_token(kazaplan, {"grant_type": "refresh_token"})

    assert_error(answer, "invalid_request")


def test_a_client_without_the_grant_is_unauthorized(kazaplan):
    kazaplan.sim.register_client(
        Client(
            "no-refresh",
            "secret",
            (TEST_REDIRECT_URI,),
            "no-refresh",
            "http://o",
            grant_types=("authorization_code",),
        )
    )

    answer = refresh(kazaplan, "anything", auth=("no-refresh", "secret"))

    assert_error(answer, "unauthorized_client")


@pytest.mark.parametrize("grant_type", ["password", "client_credentials", "implicit"])
def test_other_grant_types_are_unsupported(kazaplan, grant_type):
    answer = post_token(kazaplan, {"grant_type": grant_type})

    assert_error(answer, "unsupported_grant_type")
    assert kazaplan.sim.grant_count(grant_type) == 1


def test_a_missing_grant_type_is_an_invalid_request(kazaplan):
    assert_error(post_token(kazaplan, {"code": "x"}), "invalid_request")


@pytest.mark.parametrize(
    "auth",
    [
        None,
        ("kzlink-test", "wrong-secret"),
        ("nobody", "test-client-secret"),
    ],
    ids=["missing", "wrong-secret", "unknown-client"],
)
def test_client_authentication_failures_are_invalid_client(kazaplan, auth):
    code = kazaplan.authorize()["code"]
    data = {"grant_type": "authorization_code", "code": code}
    data["redirect_uri"] = TEST_REDIRECT_URI

    answer = requests.post(kazaplan.token_url, data=data, auth=auth, timeout=10)

    assert_error(answer, "invalid_client", status=401)
    assert answer.headers["WWW-Authenticate"].startswith("Basic")
    assert exchange(kazaplan, code).status_code == 200


@pytest.mark.parametrize(
    "header", ["Basic !!!not-base64", "Basic a3psaW5rLXRlc3Q=", "Bearer abc"]
)
def test_malformed_basic_credentials_are_invalid_client(kazaplan, header):
    answer = requests.post(
        kazaplan.token_url,
        data={"grant_type": "refresh_token", "refresh_token": "x"},
        headers={"Authorization": header},
        timeout=10,
    )

    assert_error(answer, "invalid_client", status=401)


def test_client_credentials_in_the_body_are_not_enough(kazaplan):
    answer = requests.post(
        kazaplan.token_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": "x",
            "client_id": "kzlink-test",
            "client_secret": "test-client-secret",
        },
        timeout=10,
    )

    assert_error(answer, "invalid_client", status=401)


def test_every_grant_call_is_counted_refused_ones_included(kazaplan):
    tokens = kazaplan.obtain_tokens()
    refresh(kazaplan, tokens["refresh_token"])
    refresh(kazaplan, tokens["refresh_token"])
    refresh(kazaplan, "made-up", auth=("kzlink-test", "wrong"))

    assert kazaplan.sim.grant_count("authorization_code") == 1
    assert kazaplan.sim.grant_count("refresh_token") == 3


def test_reset_forgets_counters_and_tokens(kazaplan):
    tokens = kazaplan.obtain_tokens()

    kazaplan.sim.reset()

    assert kazaplan.sim.grant_count("authorization_code") == 0
    assert_error(refresh(kazaplan, tokens["refresh_token"]), "invalid_grant")
    assert kazaplan.sim.client("kzlink-test") is not None
