"""The log redaction: secrets never reach a handler, whichever logger logs."""

import logging

import pytest

from kzlink import redaction


@pytest.fixture(autouse=True)
def _installed():
    redaction.install()


@pytest.mark.parametrize(
    "text",
    [
        "POST /oauth/token grant_type=refresh_token&refresh_token=SECRET1234",
        "GET /kazaplan/oauth/callback?code=SECRET1234&state=abc HTTP/1.1",
        '{"access_token": "SECRET1234", "token_type": "Bearer"}',
        "{'refresh_token': 'SECRET1234'}",
        "Authorization: Bearer SECRET1234",
        "Authorization: Basic SECRET1234",
        "login email=a@b.c password=SECRET1234",
        "ticket=SECRET1234",
    ],
)
def test_secret_values_are_masked(text):
    assert "SECRET1234" not in redaction.redact(text)


def test_ordinary_fields_survive():
    text = "link refreshed user_id=42 status_code=200 grant=refresh_token"

    assert redaction.redact(text) == text


def test_registered_values_are_masked_anywhere():
    redaction.register_secret("an-exact-client-secret")

    assert "an-exact" not in redaction.redact("oops: an-exact-client-secret!")


def test_records_of_any_logger_are_scrubbed(caplog):
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("urllib3.connectionpool").debug(
            "%s %s", "GET", "/v3/users?access_token=SECRET1234"
        )

    assert "SECRET1234" not in caplog.text
    assert "/v3/users?access_token=" in caplog.text


def test_tracebacks_are_scrubbed(caplog):
    with caplog.at_level(logging.ERROR):
        try:
            raise ValueError("refresh_token=SECRET1234 was refused")
        except ValueError:
            logging.getLogger("waitress").exception("request failed")

    assert "SECRET1234" not in caplog.text
    assert "request failed" in caplog.text
