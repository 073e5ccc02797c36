"""Keep tokens, codes, secrets and passwords out of every log record.

kzlink's own messages never carry a secret, but libraries may: urllib3 logs
request lines, waitress logs tracebacks whose frames show request data. This
module installs a log record factory, so it applies to every logger whatever its
handlers, that rewrites each record's message with secrets masked: values of
parameters and JSON fields with a secret's name, Authorization headers, and
any exact secret value registered at start-up (client secret, session secret,
token keys).
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
)
_NAMES = "|".join(_SECRET_NAMES)

_PATTERNS = (
    # name=value in query strings, form bodies and key=value log fields.
    re.compile(rf"(?i)(?<![\w-])((?:{_NAMES})=)[^&\s'\",;)]+"),
    # "name": "value" in JSON and reprs of dicts.
    re.compile(rf"(?i)(['\"](?:{_NAMES})['\"]\s*:\s*['\"])[^'\"]+"),
    # Authorization headers, in whatever shape they were printed.
    re.compile(r"(?i)((?:Bearer|Basic)\s+)[A-Za-z0-9\-._~+/=]+"),
)

_lock = threading.Lock()
_known_values: set[str] = set()
_installed = False


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
    """Wrap the log record factory once per process."""
    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args, **kwargs):
            record = previous(*args, **kwargs)
            _scrub(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


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
