"""Fixtures of the end-to-end tests: kzlink on loopback, Chromium in two modes.

One kzlink server serves the whole e2e run, built from ``development.ini`` as
``make run`` does (built-in simulator under ``/simulator``), on a free port and
a fresh SQLite database. Partner pages are reached as ``127.0.0.1`` and the
widget as ``localhost``: two sites, so Chromium nests the frames cross-site
exactly as it would with a real partner and the real Kazaplan.

Every test runs in two browser modes:

- ``blocked``: Chromium as it comes, third-party cookies blocked, so the enroll
  frame (partner site, inside the widget's site, inside the partner's page)
  gets none of the partner's cookies;
- ``allowed``: a fresh profile whose preferences allow third-party cookies.
"""

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import waitress
from alembic import command
from alembic.config import Config
from pyramid.paster import get_app
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from kzlink.adapters.sql.models import LinkRow, UserRow
from tests.fixtures.required import unavailable

try:
    from playwright.sync_api import sync_playwright
except ImportError:
    # Every e2e module needs Playwright: skip (or, in CI, fail) this folder as
    # one, rather than let its import error abort the collection of the suite.
    unavailable("Playwright is not installed")

from tests.e2e.shopper import Shopper

ROOT = Path(__file__).resolve().parents[2]
INI = ROOT / "development.ini"
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-gpu",
    # The tests run as root, where Chromium's sandbox cannot start.
    "--no-sandbox",
]
MODES = ("blocked", "allowed")
# Chromium's "allow third-party cookies" choice, as its settings page stores it.
ALLOW_THIRD_PARTY_COOKIES = {"profile": {"cookie_controls_mode": 0}}
TIMEOUT_MS = 10_000
# Tall enough for every page, so that a full-page screenshot need not resize
# the viewport (after a resize, a nested frame is sometimes captured blank).
VIEWPORT = {"width": 1280, "height": 900}


@dataclass
class Database:
    """Read access to kzlink's tables, plus the one write a scenario needs."""

    engine: object

    def user_id(self, email: str) -> str | None:
        query = select(UserRow.id).where(UserRow.email == email.lower())
        with self.engine.connect() as connection:
            found = connection.execute(query).scalar_one_or_none()
        return None if found is None else str(found)

    def link(self, email: str) -> LinkRow | None:
        query = select(LinkRow).where(LinkRow.user_id == self.user_id(email))
        with Session(self.engine) as session:
            return session.scalars(query).one_or_none()

    def move_expiry(self, email: str, expires_at: datetime) -> None:
        """Make kzlink believe the access token of ``email`` expires then."""
        with self.engine.begin() as connection:
            connection.execute(
                update(LinkRow)
                .where(LinkRow.user_id == self.user_id(email))
                .values(expires_at=expires_at)
            )


@dataclass
class Server:
    """The running kzlink: partner site, widget site, simulator, database."""

    partner_url: str
    widget_url: str
    sim: object
    db: Database


@pytest.fixture(scope="session")
def e2e_server(tmp_path_factory) -> Iterator[Server]:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    database = tmp_path_factory.mktemp("e2e") / "e2e.sqlite"
    environ = environment(port, f"sqlite:///{database}")
    app = kzlink_app(environ)

    # Eight threads: a page's request waits on kzlink's own calls to the
    # simulator, served by the same server.
    server = waitress.create_server(app, sockets=[listener], threads=8)
    stopping = threading.Event()
    thread = threading.Thread(
        target=_serve, args=(server, stopping), name="e2e-waitress", daemon=True
    )
    thread.start()
    engine = create_engine(environ["KZLINK_DATABASE_URL"])
    yield Server(
        partner_url=f"http://127.0.0.1:{port}",
        widget_url=f"http://localhost:{port}",
        sim=app.registry.kazaplan_simulator,
        db=Database(engine),
    )
    engine.dispose()
    stopping.set()
    _stop(server)
    thread.join(timeout=5)


def _serve(server, stopping: threading.Event) -> None:
    try:
        server.run()
    except (OSError, ValueError):
        # Closing the sockets under waitress's loop is how it stops.
        if not stopping.is_set():
            raise


def _stop(server) -> None:
    # Waitress's loop runs while a channel (listener, trigger, connection) is
    # open: close them all, then its worker threads.
    while server._map:
        for channel in list(server._map.values()):
            channel.close()
    server.task_dispatcher.shutdown()


def environment(port: int, database_url: str, scheme: str = "http") -> dict:
    """kzlink's settings for both sites on ``port``, as environment variables."""
    widget = f"{scheme}://localhost:{port}"
    return {
        "KZLINK_PUBLIC_URL": f"{scheme}://127.0.0.1:{port}",
        "KZLINK_WIDGET_ORIGIN": widget,
        "KZLINK_WIDGET_SCRIPT_URL": f"{widget}/simulator/js/integration.js",
        "KZLINK_AUTHORIZE_URL": f"{widget}/simulator/authorize",
        "KZLINK_API_URL": f"{widget}/simulator",
        "KZLINK_DATABASE_URL": database_url,
    }


def kzlink_app(environ: dict):
    """kzlink as ``make run`` builds it, its settings taken from ``environ``,
    its database migrated first."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environ.items():
            patch.setenv(name, value)
        _migrate()
        return get_app(str(INI))


def _migrate() -> None:
    # As `make db` does: the ini's [alembic] section, the URL from the
    # environment (KZLINK_DATABASE_URL wins over the ini's).
    command.upgrade(Config(str(INI), ini_section="alembic"), "head")


@pytest.fixture(scope="session")
def playwright():
    if not CHROMIUM.exists():
        unavailable(f"Chromium is not installed at {CHROMIUM}")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def stock_chromium(playwright):
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture(params=MODES)
def mode(request) -> str:
    return request.param


@pytest.fixture
def browser_context(mode, request, playwright, tmp_path):
    context = new_browser_context(mode, request, playwright, tmp_path)
    yield context
    context.close()


def new_browser_context(mode, request, playwright, directory: Path, **options):
    """A fresh context in ``mode``; ``options`` go to Playwright as they are.
    The allowed mode keeps its profile under ``directory``."""
    if mode == "blocked":
        context = request.getfixturevalue("stock_chromium").new_context(
            viewport=VIEWPORT, **options
        )
    else:
        context = playwright.chromium.launch_persistent_context(
            str(_profile_allowing_third_party_cookies(directory / "profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
            **options,
        )
    context.set_default_timeout(TIMEOUT_MS)
    return context


def _profile_allowing_third_party_cookies(directory: Path) -> Path:
    (directory / "Default").mkdir(parents=True)
    preferences = directory / "Default" / "Preferences"
    preferences.write_text(json.dumps(ALLOW_THIRD_PARTY_COOKIES))
    return directory


@pytest.fixture
def shopper(browser_context, e2e_server, mode, request) -> Iterator[Shopper]:
    """A tab in a fresh browser context, taking a screenshot at each step."""
    artifacts = ARTIFACTS / f"{request.node.originalname}-{mode}"
    shopper = Shopper.open(browser_context, e2e_server, mode, artifacts)
    yield shopper
    shopper.close()
