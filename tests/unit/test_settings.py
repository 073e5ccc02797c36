"""Settings: environment over ini, and the start-up refusals of unsafe values."""

import pytest

from kzlink.settings import SettingsError, check, load

PRODUCTION_ENV = {
    "KZLINK_PRODUCTION": "true",
    "KZLINK_PUBLIC_URL": "https://shop.example",
    "KZLINK_WIDGET_ORIGIN": "https://integration.kazaplan.com",
    "KZLINK_CLIENT_ID": "shop",
    "KZLINK_PARTNER_KEY": "shop-widget",
    "KZLINK_CLIENT_SECRET": "a-real-client-secret-from-kazaplan",
    "KZLINK_SESSION_SECRET": "a-long-random-session-secret-value",
    "KZLINK_TOKEN_KEYS": "cmVhbC1rZXktMzItYnl0ZXMtbG9uZy0tLS0tLS0tLS0=",
    "KZLINK_DATABASE_URL": "postgresql+psycopg://kzlink@db/kzlink",
}


def test_environment_wins_over_ini():
    settings = load({"kzlink.client_id": "from-ini"}, {"KZLINK_CLIENT_ID": "from-env"})

    assert settings.client_id == "from-env"


def test_ini_wins_over_default():
    settings = load({"kzlink.authorization_ttl": "120"}, {})

    assert settings.authorization_ttl.total_seconds() == 120


def test_invalid_number_names_the_setting():
    with pytest.raises(SettingsError, match="KZLINK_HTTP_READ_TIMEOUT"):
        load({}, {"KZLINK_HTTP_READ_TIMEOUT": "soon"})


def test_repr_hides_secrets():
    settings = load({}, PRODUCTION_ENV)

    assert PRODUCTION_ENV["KZLINK_CLIENT_SECRET"] not in repr(settings)
    assert PRODUCTION_ENV["KZLINK_TOKEN_KEYS"] not in repr(settings)


def test_redirect_uri_follows_the_public_url():
    settings = load({"kzlink.public_url": "https://shop.example/"}, {})

    assert settings.redirect_uri == "https://shop.example/kazaplan/oauth/callback"


def test_sound_production_settings_pass_with_the_authorize_secret_warning():
    warnings = check(load({}, PRODUCTION_ENV))

    assert len(warnings) == 1
    assert "client secret" in warnings[0]


def test_no_warning_once_the_secret_leaves_the_authorize_url():
    env = dict(PRODUCTION_ENV, KZLINK_SECRET_IN_AUTHORIZE_URL="false")

    assert check(load({}, env)) == []


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("KZLINK_CLIENT_SECRET", "", "KZLINK_CLIENT_SECRET"),
        ("KZLINK_SESSION_SECRET", "", "KZLINK_SESSION_SECRET"),
        ("KZLINK_TOKEN_KEYS", "", "KZLINK_TOKEN_KEYS"),
        ("KZLINK_CLIENT_SECRET", "development-client-secret", "KZLINK_CLIENT_SECRET"),
        ("KZLINK_PUBLIC_URL", "http://shop.example", "KZLINK_PUBLIC_URL"),
        ("KZLINK_WIDGET_ORIGIN", "http://widget.example", "KZLINK_WIDGET_ORIGIN"),
        ("KZLINK_DATABASE_URL", "sqlite:///kzlink.sqlite", "KZLINK_DATABASE_URL"),
        ("KZLINK_SIMULATOR", "true", "KZLINK_SIMULATOR"),
        ("KZLINK_REFRESH_LOCK", "false", r"kzlink.refresh_lock \(KZLINK_REFRESH_LOCK"),
        ("KZLINK_WIDGET_ORIGIN", "", r"KZLINK_WIDGET_ORIGIN\) is not set"),
        ("KZLINK_CLIENT_ID", "", "KZLINK_CLIENT_ID"),
        ("KZLINK_PARTNER_KEY", "", "KZLINK_PARTNER_KEY"),
    ],
)
def test_production_refuses_unsafe_settings_naming_them(name, value, named):
    env = dict(PRODUCTION_ENV, **{name: value})

    with pytest.raises(SettingsError, match=named):
        check(load({}, env))


def test_development_may_use_development_secrets():
    settings = load(
        {
            "kzlink.client_id": "kzlink-demo",
            "kzlink.widget_origin": "http://localhost:6543",
            "kzlink.client_secret": "development-client-secret",
            "kzlink.session_secret": "development-session-secret-change-me",
            "kzlink.token_keys": "a3psaW5rLWRldmVsb3BtZW50LWtleS1ub3QtcHJvZCE=",
        },
        {},
    )

    assert check(settings)


@pytest.mark.parametrize(
    "origin",
    [
        "https://a.example https://evil.example",
        "https://*",
        "https://*.kazaplan.com",
        "https://widget.example/",
        "https://widget.example/path",
        "https://widget.example?x=1",
        "https://user@widget.example",
        "https://widget.example:port",
        "https://widget.example:",
        "'self'",
        "widget.example",
        "ftp://widget.example",
        "https://widget.example;script-src *",
    ],
)
def test_the_widget_origin_must_be_one_origin(origin):
    env = dict(PRODUCTION_ENV, KZLINK_WIDGET_ORIGIN=origin)

    with pytest.raises(SettingsError, match="KZLINK_WIDGET_ORIGIN"):
        check(load({}, env))


@pytest.mark.parametrize(
    "origin", ["https://widget.example", "https://widget.example:8443"]
)
def test_an_origin_with_or_without_port_is_accepted(origin):
    assert check(load({}, dict(PRODUCTION_ENV, KZLINK_WIDGET_ORIGIN=origin)))


@pytest.mark.parametrize(
    ("key", "env"),
    [
        ("kzlink.client_secret", "KZLINK_CLIENT_SECRET"),
        ("kzlink.session_secret", "KZLINK_SESSION_SECRET"),
        ("kzlink.token_keys", "KZLINK_TOKEN_KEYS"),
        ("sqlalchemy.url", "KZLINK_DATABASE_URL"),
    ],
)
def test_production_takes_secrets_from_the_environment_only(key, env):
    environ = {name: value for name, value in PRODUCTION_ENV.items() if name != env}
    in_file = {key: PRODUCTION_ENV[env]}

    with pytest.raises(SettingsError, match=f"{key} must come from {env}"):
        check(load(in_file, environ))


def test_development_takes_secrets_from_the_settings_file():
    raw = {
        "kzlink.client_id": "shop",
        "kzlink.widget_origin": "http://localhost:6543",
        "kzlink.client_secret": "a-secret-in-the-ini-file",
        "kzlink.session_secret": "a-session-secret-in-the-ini-file",
        "kzlink.token_keys": PRODUCTION_ENV["KZLINK_TOKEN_KEYS"],
    }

    assert load(raw, {}).secrets_outside_environment
    assert check(load(raw, {}))


def test_development_may_run_without_the_refresh_lock():
    settings = load({}, dict(PRODUCTION_ENV, KZLINK_PRODUCTION="false"))
    unlocked = load(
        {}, dict(PRODUCTION_ENV, KZLINK_PRODUCTION="false", KZLINK_REFRESH_LOCK="false")
    )

    assert check(settings) == check(unlocked)
