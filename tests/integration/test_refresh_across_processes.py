"""One refresh at a time per link, across two real kzlink processes.

Two waitress processes share one database (SQLite file, or the tests'
PostgreSQL) and talk to the simulator over HTTP. One shopper, whose stored
access token has expired, is signed in on both; a burst of simultaneous
``POST /kazaplan/refresh_token`` hits both processes while Kazaplan answers
slowly, so that every request reads the link before the first refresh could
commit. Kazaplan must see a single refresh grant and every caller get the same
new token. With the lock off the same burst must race: that variant is
expected to fail, which shows the test can see the race at all.
"""

import json
import re
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy.engine import make_url

from kzlink.adapters.cipher import TokenCipher, generate_key
from kzlink.adapters.sql import SqlLinkStore, SqlUserStore
from kzlink.adapters.sql.engine import make_engine, make_session_factory
from kzlink.domain.model import (
    AuthorizationCompleted,
    Link,
    LinkState,
    Tokens,
    transition,
)
from tests.fixtures.processes import app_processes
from tests.fixtures.simulator import TEST_CLIENT, parse_forms

EMAIL = "racer@example.com"
PASSWORD = "correct horse battery"
SESSION_COOKIE = "kzlink_session"
REQUESTS_PER_PROCESS = 12
# Long enough for every request of the burst to read the link before the
# first refresh answer comes back; short enough to keep the test quick.
SLOW_SECONDS = 0.5

LOCK_VARIANTS = [
    pytest.param(True, id="locked"),
    pytest.param(
        False,
        id="unlocked",
        marks=pytest.mark.xfail(
            strict=True,
            raises=AssertionError,
            reason="without the refresh lock the burst must race (several "
            "refresh grants, or callers with different tokens or errors)",
        ),
    ),
]


@pytest.mark.parametrize("refresh_lock", LOCK_VARIANTS)
def test_burst_of_refreshes_asks_kazaplan_once(
    refresh_lock, database_url, kazaplan, tmp_path
):
    token_keys = generate_key()
    store = LinkStore(database_url, token_keys)
    settings = app_settings(database_url, kazaplan, token_keys, refresh_lock)
    user_id = store.add_user(EMAIL, PASSWORD)
    old = store.link(user_id, kazaplan.obtain_tokens(EMAIL), kazaplan)

    with app_processes(2, settings, tmp_path) as processes:
        browsers = [signed_in(app.url) for app in processes]
        for browser in browsers:
            expect(browser.planner_token == old.access_token, "planner lost the link")
        store.expire(user_id)
        kazaplan.sim.fault = "slow"
        kazaplan.sim.slow_seconds = SLOW_SECONDS

        answers = burst(browsers, old.access_token)

    report_wall_time(answers, database_url, refresh_lock)
    new_tokens = {answer.token for answer in answers}
    seen = {
        "refresh grants": kazaplan.sim.grant_count("refresh_token"),
        "statuses": dict(Counter(answer.status for answer in answers)),
        "distinct tokens": len(new_tokens),
    }
    assert seen == {
        "refresh grants": 1,
        "statuses": {200: len(answers)},
        "distinct tokens": 1,
    }, Counter(answer.detail for answer in answers if answer.status != 200)

    (token,) = new_tokens
    link = store.get(user_id)
    assert token != old.access_token
    assert link.state is LinkState.LINKED
    assert link.access_token == token
    assert kazaplan.sim.access_grant(token) is not None


# The partner's side: settings, database, browsers.


def app_settings(database_url, kazaplan, token_keys, refresh_lock) -> dict:
    widget = urlsplit(kazaplan.base_url)
    return {
        "sqlalchemy.url": database_url,
        "kzlink.widget_origin": f"{widget.scheme}://{widget.netloc}",
        "kzlink.widget_script_url": kazaplan.base_url + "/js/integration.js",
        "kzlink.kazaplan.authorize_url": kazaplan.authorize_url,
        "kzlink.kazaplan.api_url": kazaplan.api_url,
        "kzlink.client_id": TEST_CLIENT.client_id,
        "kzlink.client_secret": TEST_CLIENT.client_secret,
        "kzlink.partner_key": TEST_CLIENT.partner_key,
        "kzlink.session_secret": "refresh-race-session-secret",
        "kzlink.token_keys": token_keys,
        "kzlink.pkce": "true",
        "kzlink.http_connect_timeout": "2",
        "kzlink.http_read_timeout": "10",
        "kzlink.refresh_lock": "true" if refresh_lock else "false",
        "kzlink.simulator": "false",
    }


class LinkStore:
    """The test's own way into the processes' database, with their token keys."""

    def __init__(self, database_url, token_keys):
        self.url = database_url
        self.cipher = TokenCipher.from_setting(token_keys)

    def add_user(self, email, password) -> str:
        with self._session() as dbsession:
            user = SqlUserStore(dbsession).register(email, password)
            dbsession.commit()
        return user.id

    def link(self, user_id, answer, kazaplan) -> Link:
        """Store the link as the callback would, from a token answer."""
        tokens = Tokens(
            access_token=answer["access_token"],
            refresh_token=answer["refresh_token"],
            expires_at=datetime.now(UTC) + timedelta(seconds=answer["expires_in"]),
            scope=answer["scope"],
        )
        kazaplan_user_id = kazaplan.sim.user_by_email(EMAIL).id
        completed = AuthorizationCompleted(kazaplan_user_id, tokens)
        return self._save(transition(Link.unlinked(user_id), completed))

    def expire(self, user_id) -> Link:
        link = self.get(user_id)
        past = datetime.now(UTC) - timedelta(hours=1)
        return self._save(replace(link, tokens=replace(link.tokens, expires_at=past)))

    def get(self, user_id) -> Link:
        with self._session() as dbsession:
            return SqlLinkStore(dbsession, self.cipher).get(user_id)

    def _save(self, link) -> Link:
        with self._session() as dbsession:
            saved = SqlLinkStore(dbsession, self.cipher).save(link)
            dbsession.commit()
        return saved

    @contextmanager
    def _session(self):
        engine = make_engine(self.url)
        dbsession = make_session_factory(engine)()
        try:
            yield dbsession
        finally:
            dbsession.close()
            engine.dispose()


@dataclass
class Browser:
    """One shopper's browser on one process: its session cookie and the CSRF
    token the planner page gives its script.

    ``requests`` keeps a ``Secure`` cookie but never sends it over http, where
    browsers do for 127.0.0.1: the cookie header is written here instead.
    """

    url: str
    cookie: str = ""
    planner_token: str = ""
    csrf_token: str = ""

    def get(self, path, session=requests):
        return self._kept(session.get(self.url + path, **self._options()))

    def post(self, path, session=requests, **kwargs):
        return self._kept(session.post(self.url + path, **self._options(**kwargs)))

    def _options(self, headers=None, **kwargs):
        headers = dict(headers or {})
        if self.cookie:
            headers["Cookie"] = f"{SESSION_COOKIE}={self.cookie}"
        return dict(kwargs, headers=headers, allow_redirects=False, timeout=30)

    def _kept(self, response):
        if SESSION_COOKIE in response.cookies:
            self.cookie = response.cookies[SESSION_COOKIE]
        return response


def signed_in(url) -> Browser:
    """Sign in through the login form, then read the planner page as its
    script does: the CSRF token for the refresh header, the widget's token."""
    browser = Browser(url)
    login = browser.get("/login")
    fields = parse_forms(login.text)["login-form"]["fields"]
    answer = browser.post("/login", data=dict(fields, email=EMAIL, password=PASSWORD))
    expect(answer.status_code == 303, f"sign-in failed: {answer.text}")

    planner = browser.get("/")
    expect(planner.status_code == 200, f"no planner page: {planner.text}")
    config = planner_config(planner.text)
    browser.csrf_token = config["csrfToken"]
    browser.planner_token = config["widget"]["token"]
    return browser


def planner_config(html) -> dict:
    found = re.search(
        r'<script type="application/json" id="kzlink-planner">(.*?)</script>',
        html,
        re.DOTALL,
    )
    expect(found is not None, f"no planner config in:\n{html}")
    return json.loads(found.group(1))


def expect(condition, message):
    # Setup fails through pytest.fail, not assert: the unlocked variant expects
    # the race's AssertionError and must not take a broken setup for it.
    if not condition:
        pytest.fail(message)


# The burst.


@dataclass
class Answer:
    process: str
    status: int
    token: str | None
    detail: str
    started: float
    finished: float


def burst(browsers, last_access_token) -> list[Answer]:
    """Post the refresh from many threads at once, spread over ``browsers``."""
    callers = [b for b in browsers for _ in range(REQUESTS_PER_PROCESS)]
    barrier = threading.Barrier(len(callers))
    answers = [None] * len(callers)

    def call(index, browser):
        answers[index] = refresh(browser, barrier, last_access_token)

    threads = [
        threading.Thread(target=call, args=(index, browser), name=f"caller-{index}")
        for index, browser in enumerate(callers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return [
        answer or Answer(caller.url, 0, None, "no answer", 0.0, 0.0)
        for answer, caller in zip(answers, callers, strict=True)
    ]


def refresh(browser, barrier, last_access_token) -> Answer:
    # Each caller opens its connection before the barrier, so that the burst
    # is made of requests, not of TCP handshakes.
    with requests.Session() as session:
        started = finished = time.perf_counter()
        try:
            browser.get("/kzlink-static/kzlink.css", session=session)
            barrier.wait(timeout=30)
            started = time.perf_counter()
            response = browser.post(
                "/kazaplan/refresh_token",
                session=session,
                json={"access_token": last_access_token},
                headers={"X-CSRF-Token": browser.csrf_token},
            )
            finished = time.perf_counter()
        except (requests.RequestException, threading.BrokenBarrierError) as error:
            # Release the others at once rather than after the barrier's timeout.
            barrier.abort()
            return Answer(browser.url, 0, None, repr(error), started, finished)
    body = _json_or_none(response)
    token = body.get("access_token") if isinstance(body, dict) else None
    detail = f"{browser.url} {response.status_code} {response.text[:200]}"
    return Answer(browser.url, response.status_code, token, detail, started, finished)


def _json_or_none(response):
    try:
        return response.json()
    except ValueError:
        return None


def report_wall_time(answers, database_url, refresh_lock):
    wall = max(a.finished for a in answers) - min(a.started for a in answers)
    dialect = make_url(database_url).get_backend_name()
    lock = "on" if refresh_lock else "off"
    print(
        f"refresh burst: {len(answers)} requests over 2 processes, {dialect}, "
        f"lock {lock}, Kazaplan answering in {SLOW_SECONDS} s: {wall:.3f} s"
    )
