"""The simulator's widget: script and page served, plans saved and listed.

Its behaviour in a browser belongs to the end-to-end tier; here the script only
has to be served and be valid JavaScript.
"""

import shutil
import subprocess
from html.parser import HTMLParser

import pytest
import requests

from tests.fixtures.required import unavailable
from tests.fixtures.simulator import TEST_CLIENT


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.by_id = {}
        self.scripts = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.by_id[attrs["id"]] = (tag, attrs)
        if tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])


def elements(html):
    parser = _Elements()
    parser.feed(html)
    return parser


def save(kazaplan, token, body):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(
        kazaplan.base_url + "/widget/plans", json=body, headers=headers, timeout=10
    )


@pytest.mark.parametrize("name", ["integration.js", "widget.js"])
def test_the_scripts_are_served_as_javascript(kazaplan, name):
    answer = requests.get(f"{kazaplan.base_url}/js/{name}", timeout=10)

    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/javascript")
    assert "Set-Cookie" not in answer.headers


def test_the_integration_script_defines_the_documented_api(kazaplan):
    script = requests.get(f"{kazaplan.base_url}/js/integration.js", timeout=10).text

    for name in ["window.Kazaplan", "apiSetToken", "apiUserSave", "apiUserForceSave"]:
        assert name in script


@pytest.mark.parametrize("name", ["integration.js", "widget.js"])
def test_the_scripts_are_valid_javascript(kazaplan, name, tmp_path):
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed, so the scripts cannot be checked")
    path = tmp_path / name
    path.write_bytes(requests.get(f"{kazaplan.base_url}/js/{name}", timeout=10).content)

    checked = subprocess.run(
        [node, "--check", str(path)], capture_output=True, text=True, timeout=30
    )

    assert checked.returncode == 0, checked.stderr


def test_the_widget_page_has_the_planner_and_no_cookie(kazaplan):
    answer = requests.get(
        kazaplan.base_url + "/widget",
        params={"partnerKey": TEST_CLIENT.partner_key},
        timeout=10,
    )

    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers
    page = elements(answer.text)
    for element_id in ["kz-add-item", "kz-plan-name", "kz-save", "kz-status"]:
        assert element_id in page.by_id
    assert page.by_id["kz-modal-frame"][0] == "iframe"
    root = page.by_id["kz-planner"][1]
    assert root["data-partner-origin"] == TEST_CLIENT.partner_origin
    assert page.scripts == [kazaplan.base_url + "/js/widget.js"]
    policy = answer.headers["Content-Security-Policy"]
    assert policy == f"frame-ancestors {TEST_CLIENT.partner_origin}"


@pytest.mark.parametrize("params", [{"partnerKey": "nobody"}, {}])
def test_the_widget_refuses_an_unknown_partner_key(kazaplan, params):
    answer = requests.get(kazaplan.base_url + "/widget", params=params, timeout=10)

    assert answer.status_code == 400
    assert "partner key is not known" in answer.text
    assert not elements(answer.text).scripts


def test_a_saved_plan_is_listed_then_updated(kazaplan):
    token = kazaplan.obtain_tokens("planner@example.com")["access_token"]

    created = save(kazaplan, token, {"name": "Living room", "items": ["Sofa 1"]})
    plan_id = created.json()["id"]
    updated = save(
        kazaplan, token, {"id": plan_id, "name": "Lounge", "items": ["Sofa 1", "Rug 2"]}
    )

    assert created.status_code == updated.status_code == 200
    assert updated.json()["id"] == plan_id
    listed = requests.get(
        kazaplan.api_url + "/v3/users/plans",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()
    assert [(p["id"], p["title"]) for p in listed["results"]] == [(plan_id, "Lounge")]
    user = kazaplan.sim.user_by_email("planner@example.com")
    [plan] = kazaplan.sim.plans_of(user.id)
    assert plan.items == ("Sofa 1", "Rug 2")
    assert plan.partner_key == TEST_CLIENT.partner_key


def test_saving_needs_a_live_token(kazaplan):
    token = kazaplan.obtain_tokens()["access_token"]
    kazaplan.sim.expire_access_tokens()

    for bearer in [None, "made-up", token]:
        assert save(kazaplan, bearer, {"name": "x", "items": []}).status_code == 401


def test_saving_over_someone_elses_plan_is_not_found(kazaplan):
    alice = kazaplan.obtain_tokens("alice@example.com")["access_token"]
    bob = kazaplan.obtain_tokens("bob@example.com")["access_token"]
    plan_id = save(kazaplan, alice, {"name": "Alice's", "items": []}).json()["id"]

    answer = save(kazaplan, bob, {"id": plan_id, "name": "Mine now", "items": []})

    assert answer.status_code == 404
    assert kazaplan.sim.plan(int(plan_id)).title == "Alice's"


@pytest.mark.parametrize(
    "body",
    [b"not json", b'["a list"]', b'{"items": "not a list"}', b'{"id": "abc"}'],
)
def test_a_malformed_plan_is_a_bad_request(kazaplan, body):
    token = kazaplan.obtain_tokens()["access_token"]

    answer = requests.post(
        kazaplan.base_url + "/widget/plans",
        data=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        },
        timeout=10,
    )

    assert answer.status_code == 400
