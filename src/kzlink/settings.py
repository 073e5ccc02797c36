"""kzlink's settings: read from the ini file, overridden by the environment.

Every setting has an ini key, an environment variable that wins over it when
set, and a default. :func:`load` returns them as one frozen :class:`Settings`
value; nothing else in kzlink reads ``registry.settings`` directly.
"""

import os
from dataclasses import dataclass, fields
from datetime import timedelta
from urllib.parse import urlsplit

from pyramid.settings import asbool

DOCUMENTED_SCOPE = "partner:users user partner:wanaplans partner user:wanaplans"


class SettingsError(Exception):
    """A setting is missing or invalid; the message names it."""


@dataclass(frozen=True)
class Option:
    key: str
    env: str
    default: object
    parse: object = str
    secret: bool = False


def _seconds(value):
    return timedelta(seconds=float(value))


def _flag(value):
    return asbool(value)


OPTIONS = (
    Option("kzlink.public_url", "KZLINK_PUBLIC_URL", "http://127.0.0.1:6543"),
    Option("kzlink.widget_origin", "KZLINK_WIDGET_ORIGIN", ""),
    Option(
        "kzlink.widget_script_url",
        "KZLINK_WIDGET_SCRIPT_URL",
        "https://preprodintegration.kazaplan.com/js/integration.js",
    ),
    Option(
        "kzlink.kazaplan.authorize_url",
        "KZLINK_AUTHORIZE_URL",
        "https://preprod.kazaplan.com/authorize",
    ),
    Option(
        "kzlink.kazaplan.api_url", "KZLINK_API_URL", "https://preprodapi.kazaplan.com"
    ),
    Option("kzlink.client_id", "KZLINK_CLIENT_ID", ""),
    Option("kzlink.client_secret", "KZLINK_CLIENT_SECRET", "", secret=True),
    Option("kzlink.partner_key", "KZLINK_PARTNER_KEY", ""),
    Option("kzlink.scope", "KZLINK_SCOPE", DOCUMENTED_SCOPE),
    Option(
        "kzlink.secret_in_authorize_url",
        "KZLINK_SECRET_IN_AUTHORIZE_URL",
        "true",
        _flag,
    ),
    Option("kzlink.pkce", "KZLINK_PKCE", "false", _flag),
    Option("kzlink.token_expiry_margin", "KZLINK_TOKEN_EXPIRY_MARGIN", "300", _seconds),
    Option("kzlink.authorization_ttl", "KZLINK_AUTHORIZATION_TTL", "600", _seconds),
    Option("kzlink.http_connect_timeout", "KZLINK_HTTP_CONNECT_TIMEOUT", "3.05", float),
    Option("kzlink.http_read_timeout", "KZLINK_HTTP_READ_TIMEOUT", "10", float),
    Option(
        "kzlink.user_store",
        "KZLINK_USER_STORE",
        "kzlink.adapters.sql.users.SqlUserStore.from_request",
    ),
    Option("kzlink.token_keys", "KZLINK_TOKEN_KEYS", "", secret=True),
    Option("kzlink.session_secret", "KZLINK_SESSION_SECRET", "", secret=True),
    Option(
        "sqlalchemy.url", "KZLINK_DATABASE_URL", "sqlite:///kzlink.sqlite", secret=True
    ),
    Option("kzlink.refresh_lock", "KZLINK_REFRESH_LOCK", "true", _flag),
    Option("kzlink.production", "KZLINK_PRODUCTION", "false", _flag),
    Option("kzlink.simulator", "KZLINK_SIMULATOR", "false", _flag),
    Option(
        "kzlink.simulator.token_lifetime",
        "KZLINK_SIMULATOR_TOKEN_LIFETIME",
        "604799",
        _seconds,
    ),
)


@dataclass(frozen=True)
class Settings:
    public_url: str
    widget_origin: str
    widget_script_url: str
    authorize_url: str
    api_url: str
    client_id: str
    client_secret: str
    partner_key: str
    scope: str
    secret_in_authorize_url: bool
    pkce: bool
    token_expiry_margin: timedelta
    authorization_ttl: timedelta
    http_connect_timeout: float
    http_read_timeout: float
    user_store: str
    token_keys: str
    session_secret: str
    database_url: str
    refresh_lock: bool
    production: bool
    simulator: bool
    simulator_token_lifetime: timedelta
    # The keys of the secret options whose value came from the settings (the
    # ini file) rather than the environment.
    secrets_outside_environment: tuple[str, ...] = ()

    def __repr__(self) -> str:
        # Secrets stay out of reprs, hence out of tracebacks and logs.
        shown = ", ".join(
            f"{f.name}={'***' if option.secret else getattr(self, f.name)!r}"
            for f, option in _fields_and_options()
        )
        return f"Settings({shown})"

    @property
    def redirect_uri(self) -> str:
        return self.public_url.rstrip("/") + "/kazaplan/oauth/callback"

    @property
    def public_origin(self) -> str:
        return _origin(self.public_url)


def load(raw: dict, environ: dict | None = None) -> Settings:
    """Read every option from ``raw`` (ini settings) and ``environ``."""
    environ = os.environ if environ is None else environ
    values = []
    for option in OPTIONS:
        value = environ.get(option.env) or raw.get(option.key) or option.default
        try:
            values.append(option.parse(value))
        except (TypeError, ValueError) as error:
            raise SettingsError(
                f"{option.key} (or {option.env}) is not valid: {error}"
            ) from None
    outside = tuple(
        option.key
        for option in OPTIONS
        if option.secret and raw.get(option.key) and not environ.get(option.env)
    )
    return Settings(*values, secrets_outside_environment=outside)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# Values that ship in development.ini and the documentation: never in production.
_DEVELOPMENT_SECRETS = {
    "development-client-secret",
    "development-session-secret-change-me",
    "a3psaW5rLWRldmVsb3BtZW50LWtleS1ub3QtcHJvZCE=",
}


def check(settings: Settings) -> list[str]:
    """Refuse settings that cannot work or are unsafe; return warnings.

    The client id and the widget origin must be set, and the widget origin be
    an origin. In production every secret must come from the environment (no
    empty or development value), the public URL and the widget origin must be
    https, the partner key set and the refresh lock on. Each refusal names the
    setting and its environment variable.
    """
    problems = []
    if not settings.client_id:
        problems.append("kzlink.client_id (KZLINK_CLIENT_ID) is not set")
    if not settings.widget_origin:
        problems.append("kzlink.widget_origin (KZLINK_WIDGET_ORIGIN) is not set")
    elif not _is_origin(settings.widget_origin):
        problems.append(
            "kzlink.widget_origin (KZLINK_WIDGET_ORIGIN) must be one origin, "
            "scheme://host[:port], with no path, wildcard or space"
        )
    for option in OPTIONS:
        value = getattr(settings, _field_of(option))
        if option.secret and not value:
            problems.append(f"{option.key} ({option.env}) is not set")
    if settings.production:
        problems += _production_problems(settings)
    if problems:
        raise SettingsError("; ".join(problems))

    warnings = []
    if settings.secret_in_authorize_url:
        warnings.append(
            "kzlink.secret_in_authorize_url is on: the client secret travels in "
            "the authorize URL, so it lands in browser histories and Kazaplan's "
            "access logs. Kazaplan's guide requires it; turn it off (and prefer "
            "kzlink.pkce) once Kazaplan accepts authorizations without it."
        )
    return warnings


def _production_problems(settings: Settings) -> list[str]:
    problems = [
        f"{option.key} must come from {option.env} in production, "
        "not from the settings file"
        for option in OPTIONS
        if option.key in settings.secrets_outside_environment
    ]
    if not settings.partner_key:
        problems.append("kzlink.partner_key (KZLINK_PARTNER_KEY) is not set")
    if not settings.public_url.startswith("https://"):
        problems.append("kzlink.public_url (KZLINK_PUBLIC_URL) must be an https URL")
    if not settings.widget_origin.startswith("https://"):
        problems.append(
            "kzlink.widget_origin (KZLINK_WIDGET_ORIGIN) must be an https origin"
        )
    for option in OPTIONS:
        value = getattr(settings, _field_of(option))
        if option.secret and _uses_development_secret(value):
            problems.append(
                f"{option.key} ({option.env}) holds a development value; "
                "set a real one in the environment"
            )
    if settings.simulator:
        problems.append("kzlink.simulator (KZLINK_SIMULATOR) must be off")
    if settings.database_url.startswith("sqlite"):
        problems.append(
            "sqlalchemy.url (KZLINK_DATABASE_URL) must name a PostgreSQL database"
        )
    if not settings.refresh_lock:
        # Without it, two requests refreshing at once each spend the refresh
        # token, and the loser can break a working link.
        problems.append("kzlink.refresh_lock (KZLINK_REFRESH_LOCK) must be on")
    return problems


def _is_origin(value: str) -> bool:
    # It is the target of the token's postMessage and a CSP source: exactly one
    # origin, as a browser serializes it.
    if any(char.isspace() or char in "*'\";," for char in value):
        return False
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:  # not a number, or out of range
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and "@" not in parts.netloc
        and parts.path == ""
        and not parts.query
        and not parts.fragment
        and (port is not None or not parts.netloc.endswith(":"))
    )


def _uses_development_secret(value: str) -> bool:
    return any(secret in value for secret in _DEVELOPMENT_SECRETS)


def _field_of(option: Option) -> str:
    return _FIELD_BY_KEY[option.key]


def _fields_and_options():
    # The fields of Settings, in order, are the options' and then one more.
    return zip(fields(Settings)[: len(OPTIONS)], OPTIONS, strict=True)


_FIELD_BY_KEY = {option.key: field.name for field, option in _fields_and_options()}
