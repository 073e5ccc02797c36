"""The simulator served on its own, as ``kzlink-simulator`` starts it: a real
process on a loopback port, answering the OAuth and API calls of a partner."""

import socket
import subprocess
import sys
import time

import pytest
import requests

CLIENT = ("standalone-client", "standalone-secret")
REDIRECT_URI = "http://127.0.0.1:7000/kazaplan/oauth/callback"
START_SECONDS = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def standalone():
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "kzlink.simulator",
        "--port",
        str(port),
        "--client-id",
        CLIENT[0],
        "--client-secret",
        CLIENT[1],
        "--redirect-uri",
        REDIRECT_URI,
        "--partner-key",
        "standalone-key",
        "--partner-origin",
        "http://127.0.0.1:7000",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}/simulator"
    try:
        _wait_until_up(base, process)
        yield base
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    # The simulator logs through the redaction filter like kzlink itself.
    assert CLIENT[1] not in stderr


def _wait_until_up(base, process):
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the simulator exited: {process.stderr.read()}")
        try:
            requests.get(base + "/js/integration.js", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("the simulator did not start listening")


def test_serves_the_widget_script(standalone):
    script = requests.get(standalone + "/js/integration.js", timeout=5)

    assert script.status_code == 200
    assert "javascript" in script.headers["Content-Type"]
    assert "function Kazaplan(options)" in script.text


def test_knows_its_client_and_refuses_others(standalone):
    token_url = standalone + "/oauth/token"
    form = {"grant_type": "refresh_token", "refresh_token": "unknown"}

    wrong = requests.post(token_url, data=form, auth=("someone", "else"), timeout=5)
    right = requests.post(token_url, data=form, auth=CLIENT, timeout=5)

    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    assert (right.status_code, right.json()["error"]) == (400, "invalid_grant")


def test_checks_the_redirect_uri_of_an_authorization(standalone):
    query = {
        "client_id": CLIENT[0],
        "client_secret": CLIENT[1],
        "response_type": "code",
        "email": "someone@example.com",
        "state": "s" * 22,
    }
    authorize = standalone + "/authorize"

    known = requests.get(
        authorize, params={**query, "redirect_uri": REDIRECT_URI}, timeout=5
    )
    unknown = requests.get(
        authorize,
        params={**query, "redirect_uri": "http://elsewhere.test/cb"},
        timeout=5,
        allow_redirects=False,
    )

    assert known.status_code == 200
    assert unknown.status_code == 400
    assert "elsewhere.test" not in unknown.headers.get("Location", "")
