"""The simulator's v3 API against Kazaplan's published schemas, and its faults."""

import json
import os
from pathlib import Path

import jsonschema
import pytest
import requests
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.fixtures.required import unavailable

# The published contract, where a checkout or this machine keeps it.
CONTRACT_PLACES = [
    Path(__file__).parents[1] / "contracts" / "openapi-v3.json",
    Path("/work/shared/kazaplan/openapi-v3.json"),
]
CONTRACT_URI = "urn:kazaplan:openapi-v3"


def _json_schema(node):
    """OpenAPI 3.0 schema objects as JSON Schema: ``nullable`` becomes a null
    type, and every declared property is required, so that a missing field
    fails too."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items()}
    if converted.pop("nullable", False) and "type" in converted:
        converted["type"] = [converted["type"], "null"]
    if "properties" in converted:
        converted["required"] = sorted(converted["properties"])
    return converted


@pytest.fixture(scope="module")
def contract():
    place = os.environ.get("KAZAPLAN_OPENAPI_V3")
    places = [Path(place)] if place else CONTRACT_PLACES
    for path in places:
        if path.is_file():
            return json.loads(path.read_text())
    unavailable("Kazaplan's openapi-v3.json is not in tests/contracts/")


def validate(contract, body, schema_name):
    resource = Resource.from_contents(
        _json_schema(contract), default_specification=DRAFT4
    )
    registry = Registry().with_resource(CONTRACT_URI, resource)
    schema = {"$ref": f"{CONTRACT_URI}#/components/schemas/{schema_name}"}
    jsonschema.Draft4Validator(schema, registry=registry).validate(body)
    declared = contract["components"]["schemas"][schema_name]["properties"]
    return set(body) - set(declared)


def get(kazaplan, path, token, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(
        kazaplan.api_url + path, headers=headers, params=params, timeout=10
    )


def save_plan(kazaplan, token, name, items=("Sofa 1",), plan_id=None):
    body = {"name": name, "items": list(items)}
    if plan_id is not None:
        body["id"] = plan_id
    answer = requests.post(
        kazaplan.base_url + "/widget/plans",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["id"]


def test_the_user_has_the_published_shape(kazaplan, contract):
    token = kazaplan.obtain_tokens("shape@example.com")["access_token"]

    answer = get(kazaplan, "/v3/users", token)

    assert answer.status_code == 200
    body = answer.json()
    assert validate(contract, body, "User") == {"_links"}
    assert body["email"] == "shape@example.com"
    assert body["id"] == kazaplan.sim.user_by_email("shape@example.com").id
    assert body["nbPlans"] == "0"
    assert body["_links"]["self"].endswith(f"/users/{body['id']}")
    assert body["_links"]["plans"].endswith("/plans/{page}/{limit}")


def test_the_plans_page_has_the_published_shape(kazaplan, contract):
    token = kazaplan.obtain_tokens("plans@example.com")["access_token"]
    save_plan(kazaplan, token, "Kitchen", ["Table 1", "Chair 2"])

    answer = get(kazaplan, "/v3/users/plans", token)

    assert answer.status_code == 200
    body = answer.json()
    assert validate(contract, body, "PlansLists") == set()
    for plan in body["results"]:
        assert validate(contract, plan, "Plan") == set()
    assert body["results"][0]["title"] == "Kitchen"
    assert (
        body["results"][0]["userId"] == get(kazaplan, "/v3/users", token).json()["id"]
    )


def test_plans_are_paged_newest_first(kazaplan, simulator_clock):
    token = kazaplan.obtain_tokens()["access_token"]
    for name in ["one", "two", "three"]:
        save_plan(kazaplan, token, name)
        simulator_clock.advance(seconds=1)

    first = get(kazaplan, "/v3/users/plans", token, page=1, limit=2).json()
    second = get(kazaplan, "/v3/users/plans", token, page=2, limit=2).json()

    assert [p["title"] for p in first["results"]] == ["three", "two"]
    assert [p["title"] for p in second["results"]] == ["one"]
    assert (first["page"], first["limit"], first["count"], first["pages"]) == (
        1,
        2,
        3,
        2,
    )
    assert "next" in first["_links"] and "next" not in second["_links"]


def test_no_plans_is_one_empty_page(kazaplan):
    token = kazaplan.obtain_tokens()["access_token"]

    body = get(kazaplan, "/v3/users/plans", token).json()

    assert (body["count"], body["pages"], body["results"]) == (0, 1, [])
    assert (body["page"], body["limit"]) == (1, 20)


@pytest.mark.parametrize("params", [{"page": "0"}, {"limit": "x"}, {"page": "-2"}])
def test_bad_paging_is_a_bad_request(kazaplan, params):
    token = kazaplan.obtain_tokens()["access_token"]

    answer = get(kazaplan, "/v3/users/plans", token, **params)

    assert answer.status_code == 400
    assert answer.json()["status"] == "error"


def test_a_user_sees_only_their_own_plans(kazaplan):
    alice = kazaplan.obtain_tokens("alice@example.com")["access_token"]
    bob = kazaplan.obtain_tokens("bob@example.com")["access_token"]
    save_plan(kazaplan, alice, "Alice's")

    body = get(kazaplan, "/v3/users/plans", bob).json()

    assert body["results"] == []
    assert kazaplan.sim.plans_of(kazaplan.sim.user_by_email("bob@example.com").id) == []


@pytest.mark.parametrize("path", ["/v3/users", "/v3/users/plans"])
def test_an_unknown_or_missing_token_is_401_json(kazaplan, path):
    for token in ["made-up", None]:
        answer = get(kazaplan, path, token)

        assert answer.status_code == 401
        assert answer.json()["status"] == "error"
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", ["/v3/users", "/v3/users/plans"])
def test_an_expired_token_is_401(kazaplan, path):
    token = kazaplan.obtain_tokens()["access_token"]
    kazaplan.sim.expire_access_tokens()

    assert get(kazaplan, path, token).status_code == 401


def test_a_token_expires_after_its_lifetime(kazaplan, simulator_clock):
    token = kazaplan.obtain_tokens()["access_token"]

    simulator_clock.advance(seconds=604798)
    assert get(kazaplan, "/v3/users", token).status_code == 200
    simulator_clock.advance(seconds=1)
    assert get(kazaplan, "/v3/users", token).status_code == 401


def test_a_refreshed_token_works(kazaplan):
    tokens = kazaplan.obtain_tokens()
    kazaplan.sim.expire_access_tokens()
    renewed = requests.post(
        kazaplan.token_url,
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=("kzlink-test", "test-client-secret"),
        timeout=10,
    ).json()

    assert get(kazaplan, "/v3/users", renewed["access_token"]).status_code == 200


def test_a_plan_picture_is_a_png_for_its_owner_only(kazaplan):
    alice = kazaplan.obtain_tokens("alice@example.com")["access_token"]
    bob = kazaplan.obtain_tokens("bob@example.com")["access_token"]
    plan_id = save_plan(kazaplan, alice, "Alice's")

    mine = get(kazaplan, f"/v3/plans/{plan_id}.png", alice)
    theirs = get(kazaplan, f"/v3/plans/{plan_id}.png", bob)

    assert mine.status_code == 200
    assert mine.headers["Content-Type"] == "image/png"
    assert mine.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert theirs.status_code == 404


@pytest.mark.parametrize("plan_id", ["9" * 19, "1" * 5000])
def test_a_plan_id_too_long_to_exist_is_not_found(kazaplan, plan_id):
    alice = kazaplan.obtain_tokens("alice@example.com")["access_token"]

    assert get(kazaplan, f"/v3/plans/{plan_id}.png", alice).status_code == 404


def test_the_fault_error_answers_503(kazaplan):
    token = kazaplan.obtain_tokens()["access_token"]
    kazaplan.sim.fault = "error"

    assert get(kazaplan, "/v3/users", token).status_code == 503
    assert get(kazaplan, "/v3/users/plans", token).status_code == 503
    answer = requests.post(
        kazaplan.token_url,
        data={"grant_type": "refresh_token", "refresh_token": "x"},
        auth=("kzlink-test", "test-client-secret"),
        timeout=10,
    )
    assert answer.status_code == 503
    assert kazaplan.sim.grant_count("refresh_token") == 1


def test_the_fault_garbage_answers_200_that_is_not_json(kazaplan):
    token = kazaplan.obtain_tokens()["access_token"]
    kazaplan.sim.fault = "garbage"

    for answer in [
        get(kazaplan, "/v3/users", token),
        requests.post(
            kazaplan.token_url,
            data={"grant_type": "refresh_token", "refresh_token": "x"},
            auth=("kzlink-test", "test-client-secret"),
            timeout=10,
        ),
    ]:
        assert answer.status_code == 200
        with pytest.raises(ValueError):
            answer.json()


def test_the_fault_slow_answers_after_the_delay(kazaplan):
    token = kazaplan.obtain_tokens()["access_token"]
    kazaplan.sim.fault = "slow"
    kazaplan.sim.slow_seconds = 1.5

    with pytest.raises(requests.Timeout):
        requests.get(
            kazaplan.api_url + "/v3/users",
            headers={"Authorization": f"Bearer {token}"},
            timeout=0.3,
        )
    late = get(kazaplan, "/v3/users", token)
    assert late.status_code == 200


def test_faults_spare_the_authorize_pages(kazaplan):
    kazaplan.sim.fault = "error"

    assert kazaplan.authorize()["code"]


def test_reset_clears_the_fault(kazaplan):
    token = kazaplan.obtain_tokens()["access_token"]
    kazaplan.sim.fault = "error"

    kazaplan.sim.reset()

    assert kazaplan.sim.fault is None
    assert get(kazaplan, "/v3/users", token).status_code == 401


def test_an_unknown_fault_is_refused_at_once(kazaplan):
    with pytest.raises(ValueError):
        kazaplan.sim.fault = "flaky"
