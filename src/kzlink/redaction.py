"""Keep tokens, codes, secrets and passwords out of every log record.

kzlink's own messages never carry a secret, but libraries may: urllib3 logs
request lines, waitress logs tracebacks whose frames show request data. This
module installs a log record factory, so it applies to every logger whatever its
handlers, that rewrites each record's message, traceback and stack with secrets
masked. It also wraps ``Logger.makeRecord``, which sets the attributes given
through ``extra=`` only after the factory has run, to mask their string values.
Masked are: values of parameters and JSON fields with a secret's name, plain or
percent-encoded; Authorization, Cookie, Set-Cookie and X-CSRF-Token headers;
and any exact secret value registered at start-up (client secret, session
secret, token keys).
"""

import logging
import re
import threading

MASK = "[redacted]"

_SECRET_NAMES = (
    "access_token",
    "refresh_token",
    "id_token",
    "code",
    "code_verifier",
    "state",
    "ticket",
    "client_secret",
    "password",
    "csrf_token",
    "token",
    "secret",
    # kzlink's session cookies, wherever their name=value pair is printed.
    "kzlink_session",
    "kzlink_frame",
)
_NAMES = "|".join(_SECRET_NAMES)

# Headers whose whole value is a secret; also as WSGI environ keys (HTTP_COOKIE).
_HEADERS = r"(?:http_)?(?:set[-_])?cookie|(?:http_)?x[-_]csrf[-_]token"

_PATTERNS = (
    # "name": "value" in JSON and reprs of dicts, where a value may hold spaces.
    re.compile(rf"(?i)(['\"](?:{_NAMES})['\"]\s*:\s*['\"])[^'\"]+"),
    # name=value, name: value, name = 'value' in query strings, form bodies,
    # key=value log fields and reprs.
    re.compile(rf"(?i)(?<![\w-])((?:{_NAMES})['\"]?\s*[=:]\s*['\"]?)[^&\s'\",;)]+"),
    # The same, percent-encoded once or more (a URL inside a URL's query):
    # code%3DX, %26access_token%3DX, %22code%22%3A%22X. The value ends at the
    # next encoded & or quote.
    re.compile(
        rf"(?i)(?:(?<![\w-])|(?<=%[0-9A-F]{{2}})|(?<=%25[0-9A-F]{{2}}))"
        rf"((?:{_NAMES})(?:%(?:25)*22)?%(?:25)*3[AD](?:%(?:25)*22)?)"
        r"(?:(?!%(?:25)*2[26])[^&\s'\",;)])+"
    ),
    # Authorization headers, in whatever shape they were printed.
    re.compile(r"(?i)((?:Bearer|Basic)\s+)[A-Za-z0-9\-._~+/=]+"),
    # Cookie, Set-Cookie and CSRF headers as a header line ("Cookie: a=1; b=2"),
    # a dict or environ entry ('Cookie': '...') or a header tuple
    # ('Set-Cookie', '...'): the whole value, every cookie of it.
    re.compile(
        rf"(?i)(?<![\w-])((?:{_HEADERS})['\"]?\s*(?::|=|(?<=['\"]),)\s*['\"]?)"
        r"[^'\"\r\n\\]+"
    ),
)

# An ``extra=`` attribute named like a secret is one, whatever its value.
_SECRET_ATTRIBUTE = re.compile(rf"(?i)(?:{_NAMES}|{_HEADERS}|authorization)")

# What a LogRecord holds of itself: anything else came through ``extra=``.
_OWN_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

_lock = threading.Lock()
_known_values: set[str] = set()
_installed: tuple | None = None


def redact(text: str) -> str:
    """Return ``text`` with every secret it shows replaced by a mask."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda match: match.group(1) + MASK, text)
    for value in _known_values:
        text = text.replace(value, MASK)
    return text


def register_secret(value: str | None) -> None:
    """Mask this exact value wherever it appears (ignored when too short to be
    a secret, since masking it would garble ordinary words)."""
    if value and len(value) >= 8:
        with _lock:
            _known_values.add(value)


def install() -> None:
    """Wrap the log record factory, and record making, once per process."""
    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()
        make_record = logging.Logger.makeRecord

        def factory(*args, **kwargs):
            record = previous(*args, **kwargs)
            _scrub(record)
            return record

        # A logger sets the ``extra=`` attributes after the factory has run.
        def make_record_without_secrets(self, *args, **kwargs):
            record = make_record(self, *args, **kwargs)
            _scrub_extra(record)
            return record

        logging.setLogRecordFactory(factory)
        logging.Logger.makeRecord = make_record_without_secrets
        _installed = (previous, factory, make_record)


def uninstall() -> None:
    """Undo :func:`install`, so that a test can see what installing it does."""
    global _installed
    with _lock:
        if not _installed:
            return
        previous, factory, make_record = _installed
        if logging.getLogRecordFactory() is factory:
            logging.setLogRecordFactory(previous)
        logging.Logger.makeRecord = make_record
        _installed = None


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string must not lose the record
        message = f"{record.msg!r} {record.args!r}"
    record.msg = redact(message)
    record.args = None
    if record.exc_info and not record.exc_text:
        # Format the traceback now, while we can still mask what it shows.
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def _scrub_extra(record: logging.LogRecord) -> None:
    for name, value in list(vars(record).items()):
        if name in _OWN_ATTRIBUTES or not isinstance(value, str):
            continue
        secret = _SECRET_ATTRIBUTE.fullmatch(name)
        setattr(record, name, MASK if secret else redact(value))
