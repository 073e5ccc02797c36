"""Start-up: the checks that run when the WSGI app is built.

It refuses token keys that cannot read what the database holds; with
production settings it refuses unsafe ones, naming them, and warns when the
client secret goes in the authorize URL.
"""

import logging
import os
from pathlib import Path

import pytest
from pyramid.paster import get_appsettings

import kzlink
from kzlink.adapters.cipher import generate_key
from kzlink.settings import SettingsError
from tests.fixtures.databases import fresh_database


@pytest.fixture
def linked_webapp(webapp):
    shopper = webapp.shopper()
    shopper.register("keys@example.com", framed=True)
    shopper.link()
    return webapp


def test_keys_that_cannot_decrypt_the_stored_tokens_stop_start_up(
    make_webapp, linked_webapp
):
    with pytest.raises(SettingsError, match="KZLINK_TOKEN_KEYS"):
        make_webapp(**{"kzlink.token_keys": generate_key()})


def test_a_new_key_in_front_of_the_old_one_starts(make_webapp, linked_webapp):
    keys = f"{generate_key()},{linked_webapp.settings.token_keys}"

    restarted = make_webapp(**{"kzlink.token_keys": keys})

    shopper = restarted.shopper()
    shopper.log_in("keys@example.com")
    assert shopper.planner_config()["widget"]["token"]


def test_malformed_keys_stop_start_up_naming_the_setting(make_webapp):
    with pytest.raises(SettingsError, match="KZLINK_TOKEN_KEYS"):
        make_webapp(**{"kzlink.token_keys": "not-a-key"})


# Production settings as deployed: production.ini, its secrets and the rest
# from the environment, a migrated PostgreSQL database.

PRODUCTION_INI = Path(__file__).resolve().parents[2] / "production.ini"
AUTHORIZE_URL_WARNING = "the client secret travels in the authorize URL"


@pytest.fixture
def production(request, tmp_path, monkeypatch):
    """Build kzlink as production starts it: ``start(environ=..., **settings)``
    changes the environment and the ini settings from a sound production."""
    for name in [name for name in os.environ if name.startswith("KZLINK_")]:
        monkeypatch.delenv(name)
    built = []

    with fresh_database(request, "postgresql", tmp_path) as url:
        sound = {
            "KZLINK_DATABASE_URL": url,
            "KZLINK_PUBLIC_URL": "https://shop.example",
            "KZLINK_CLIENT_ID": "shop",
            "KZLINK_PARTNER_KEY": "shop-widget",
            "KZLINK_CLIENT_SECRET": "a-real-client-secret-from-kazaplan",
            "KZLINK_SESSION_SECRET": "a-long-random-session-secret-value",
            "KZLINK_TOKEN_KEYS": generate_key(),
        }

        def start(environ=None, **settings):
            for name, value in {**sound, **(environ or {})}.items():
                if value is None:
                    monkeypatch.delenv(name, raising=False)
                else:
                    monkeypatch.setenv(name, value)
            ini = dict(get_appsettings(str(PRODUCTION_INI)), **settings)
            app = kzlink.main({}, **ini)
            built.append(app)
            return app

        yield start
        for app in built:
            app.registry.dbsession_factory.kw["bind"].dispose()


@pytest.mark.postgres
def test_sound_production_settings_start(production):
    app = production()

    assert app.registry.kzlink_settings.production
    assert app.registry.kzlink_settings.public_url == "https://shop.example"


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("environ", "settings", "named"),
    [
        (
            {"KZLINK_PUBLIC_URL": "http://shop.example"},
            {},
            r"kzlink\.public_url \(KZLINK_PUBLIC_URL\) must be an https URL",
        ),
        (
            {"KZLINK_SESSION_SECRET": None},
            {},
            r"kzlink\.session_secret \(or KZLINK_SESSION_SECRET\) must be set",
        ),
        (
            {"KZLINK_SESSION_SECRET": None},
            {"kzlink.session_secret": "a-long-random-session-secret-value"},
            r"kzlink\.session_secret must come from KZLINK_SESSION_SECRET",
        ),
        (
            {},
            {"kzlink.widget_origin": "http://integration.kazaplan.com"},
            r"kzlink\.widget_origin \(KZLINK_WIDGET_ORIGIN\) must be an https",
        ),
        (
            {"KZLINK_CLIENT_SECRET": "development-client-secret"},
            {},
            r"kzlink\.client_secret \(KZLINK_CLIENT_SECRET\) holds a development",
        ),
        (
            {},
            {"kzlink.simulator": "true"},
            r"kzlink\.simulator \(KZLINK_SIMULATOR\) must be off",
        ),
    ],
    ids=[
        "http-public-url",
        "no-session-secret",
        "session-secret-in-the-ini",
        "http-widget-origin",
        "development-client-secret",
        "simulator-on",
    ],
)
def test_unsafe_production_settings_stop_start_up(production, environ, settings, named):
    with pytest.raises(SettingsError, match=named):
        production(environ, **settings)


@pytest.mark.postgres
def test_start_up_warns_of_the_client_secret_in_the_authorize_url(production, caplog):
    with caplog.at_level(logging.WARNING, logger="kzlink"):
        production(**{"kzlink.secret_in_authorize_url": "true"})

    warnings = [
        record
        for record in caplog.records
        if record.name == "kzlink" and AUTHORIZE_URL_WARNING in record.getMessage()
    ]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING


@pytest.mark.postgres
def test_no_such_warning_once_the_secret_leaves_the_authorize_url(production, caplog):
    with caplog.at_level(logging.WARNING, logger="kzlink"):
        app = production(**{"kzlink.secret_in_authorize_url": "false"})

    assert not app.registry.kzlink_settings.secret_in_authorize_url
    assert AUTHORIZE_URL_WARNING not in caplog.text
