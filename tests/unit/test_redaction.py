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
        # Headers carrying kzlink's session cookies, the CSRF token, any cookie.
        "Cookie: kzlink_session=SECRET1234",
        "jar: <Cookie kzlink_frame=SECRET1234 for partner.test/>",
        "Cookie: theme=dark; kzlink_frame=SECRET1234; lang=fr",
        "Cookie: other_site_session=SECRET1234",
        "Set-Cookie: kzlink_session=SECRET1234; Path=/; Secure; HttpOnly",
        "Set-Cookie: tracker=SECRET1234; Path=/",
        "headers={'Cookie': 'a=1; b=SECRET1234', 'Host': 'shop.example'}",
        "[('Set-Cookie', 'sid=SECRET1234; Path=/')]",
        "environ={'HTTP_COOKIE': 'sid=SECRET1234'}",
        "X-CSRF-Token: SECRET1234",
        "{'X-CSRF-Token': 'SECRET1234'}",
        "environ={'HTTP_X_CSRF_TOKEN': 'SECRET1234'}",
        # Colons, spaces and quotes around the value.
        "access_token: SECRET1234",
        "token = SECRET1234",
        "Tokens(access_token='SECRET1234', expires_in=3600)",
        # Percent-encoded, as in a URL carried inside another URL.
        "next=%2Fcallback%3Fcode%3DSECRET1234",
        "next=%2Fcallback%3Fstate%3Dabc%26access_token%3DSECRET1234%26x%3D1",
        "return=%2Fcb%253Fcode%253DSECRET1234",
        "body=%7B%22refresh_token%22%3A%22SECRET1234%22%7D",
    ],
)
def test_secret_values_are_masked(text):
    assert "SECRET1234" not in redaction.redact(text)


def test_percent_encoded_values_end_at_the_next_encoded_field():
    text = "next=%2Fcb%3Fcode%3DSECRET1234%26lang%3Dfr"

    assert redaction.redact(text) == "next=%2Fcb%3Fcode%3D[redacted]%26lang%3Dfr"


def test_a_cookie_header_is_masked_whole_and_the_next_header_kept():
    text = "Cookie: a=1; kzlink_session=SECRET1234\nHost: shop.example"

    assert redaction.redact(text) == "Cookie: [redacted]\nHost: shop.example"


@pytest.mark.parametrize(
    "text",
    [
        "link refreshed user_id=42 status_code=200 grant=refresh_token",
        "kazaplan unavailable call=token reason=timeout",
        "no cookie, so the frame asks for a ticket",
        "next=%2Faccount%3Fstatus_code%3D200",
    ],
)
def test_ordinary_fields_survive(text):
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


def test_values_passed_as_extra_are_scrubbed(caplog):
    with caplog.at_level(logging.INFO):
        logging.getLogger("kzlink.test").info(
            "request done",
            extra={"url": "/cb?code=SECRET1234", "cookie": "sid=SECRET1234", "n": 3},
        )

    (record,) = caplog.records
    assert "SECRET1234" not in record.url
    assert record.url.startswith("/cb?code=")
    assert "SECRET1234" not in record.cookie
    assert record.n == 3


def test_stack_info_is_scrubbed(caplog):
    log = logging.getLogger("kzlink.test")

    # The stack shows this frame's source line, hence the secret in it.
    with caplog.at_level(logging.INFO):
        log.info("here", stack_info=True)  # code=SECRET1234

    (record,) = caplog.records
    assert "code=" in record.stack_info
    assert "SECRET1234" not in record.stack_info
    assert "SECRET1234" not in caplog.text


def test_uninstall_restores_the_plain_records(caplog):
    redaction.uninstall()
    try:
        with caplog.at_level(logging.INFO):
            logging.getLogger("kzlink.test").info("code=%s", "SECRET1234")
    finally:
        redaction.install()

    assert "code=SECRET1234" in caplog.text
