"""A shopper at the keyboard: the steps the e2e scenarios are made of.

:class:`Shopper` drives one browser tab through the demo partner site, the
Kazaplan widget and the enroll modal nested in it, taking a full-page
screenshot after every step and keeping what the browser said (console,
script errors, failed responses) next to the screenshots, as evidence for
whoever reads a failure.
"""

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import expect

# The widget script creates this frame inside the planner page's widget node.
WIDGET_FRAME = "iframe[src*='/simulator/widget']"
MODAL_FRAME = "#kz-modal-frame"
SAVE_TIMEOUT_MS = 20_000
NEXT_PAINT = (
    "new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
)
SECRET_PARAMETER = re.compile(r"\b(client_secret|code|state|ticket|token)=[^&#\s]*")


@dataclass
class Shopper:
    page: object
    server: object
    mode: str
    artifacts: Path
    journal: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    steps: int = 0

    @classmethod
    def open(cls, context, server, mode, artifacts: Path) -> "Shopper":
        shutil.rmtree(artifacts, ignore_errors=True)
        artifacts.mkdir(parents=True)
        page = context.pages[0] if context.pages else context.new_page()
        shopper = cls(page, server, mode, artifacts)
        shopper._listen()
        return shopper

    def _listen(self) -> None:
        note = self.journal.append
        self.page.on("request", lambda r: self.requests.append(r.method + " " + r.url))
        self.page.on(
            "console",
            lambda m: note(f"console.{m.type}: {m.text} ({m.location.get('url')})"),
        )
        self.page.on("pageerror", lambda error: note(f"page error: {error}"))
        self.page.on(
            "response",
            lambda r: r.status >= 400 and note(f"HTTP {r.status} {r.url}"),
        )
        self.page.on(
            "requestfailed", lambda r: note(f"request failed: {r.url} {r.failure}")
        )

    def close(self) -> None:
        cookies = self.page.context.cookies()
        self.journal += [f"cookie: {_cookie_summary(c)}" for c in cookies]
        self.journal += [f"request: {_redacted(line)}" for line in self.requests]
        (self.artifacts / "browser.log").write_text("\n".join(self.journal) + "\n")

    def shot(self, step: str, in_modal: bool = False) -> None:
        if in_modal:
            # A frame that has just navigated may not have painted yet.
            self.modal_frame().evaluate(NEXT_PAINT)
        self.steps += 1
        path = self.artifacts / f"{self.steps:02d}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)

    # Frames.

    @property
    def widget(self):
        return self.page.frame_locator(WIDGET_FRAME)

    @property
    def modal(self):
        return self.widget.frame_locator(MODAL_FRAME)

    def url(self, path: str) -> str:
        return self.server.partner_url + path

    def requested(self, path: str, since: int = 0) -> list[str]:
        """The requests to a partner ``path`` made since request number ``since``."""
        prefix = self.url(path)
        return [
            line
            for line in self.requests[since:]
            if line.split(" ", 1)[1].split("?")[0] == prefix
        ]

    # The partner's own pages, at the top level.

    def register(self, email: str, password: str) -> None:
        self.page.goto(self.url("/register"))
        _fill_account_form(self.page, email, password)
        self.shot("register")
        _submit(self.page)
        expect(self.page.locator("body")).to_contain_text(email)
        self.shot("registered")

    def log_out(self) -> None:
        self.page.goto(self.url("/"))
        self.page.locator("form[action$='/logout'] [type=submit]").click()
        expect(self.page.locator("#signed-in-as")).to_have_count(0)
        self.shot("logged-out")

    def open_account(self) -> None:
        self.page.goto(self.url("/account"))
        self.shot("account")

    def expect_signed_in_at_top(self, email: str) -> None:
        """The planner page's header shows ``email`` signed in, without a reload;
        then /account opens without asking to sign in."""
        expect(self.page.locator("#signed-in-as")).to_have_text(email)
        self.shot("signed-in-at-top")
        self.page.goto(self.url("/account"))
        expect(self.page).to_have_url(self.url("/account"))
        expect(self.page.locator("#partner-email")).to_have_text(email)
        self.shot("account")

    def unlink(self) -> None:
        """Press Unlink on the account page, which must be open."""
        self.page.get_by_role("button", name=re.compile("unlink", re.I)).click()
        expect(self.page.locator("#unlinked-notice")).to_be_visible()
        self.shot("unlinked")

    # The planner page and its widget.

    def open_planner(self) -> None:
        self.page.goto(self.url("/"))
        # Until the page has configured the widget, a click on Save does nothing.
        expect(self.widget.locator("#kz-status")).to_have_text("Ready")
        self.shot("planner")

    def planner_token(self) -> str:
        """The access token the planner page gave the widget when it loaded."""
        config = self.page.locator("#kzlink-planner").text_content()
        return json.loads(config)["widget"]["token"]

    def draw(self, items: int) -> None:
        canvas = self.widget.locator("#kz-canvas li")
        count = canvas.count()
        for _ in range(items):
            self.widget.locator("#kz-add-item").click()
        expect(canvas).to_have_count(count + items)
        self.shot("drawn")

    def save(self, plan_name: str | None = None) -> None:
        if plan_name is not None:
            self.widget.locator("#kz-plan-name").fill(plan_name)
        self.widget.locator("#kz-save").click()

    def expect_enroll_modal(self) -> None:
        expect(self.widget.locator("#kz-modal")).to_be_visible()
        expect(self.widget.locator(MODAL_FRAME)).to_be_visible()

    def expect_saved(self) -> None:
        status = self.widget.locator("#kz-status")
        expect(status).to_have_text("Saved", timeout=SAVE_TIMEOUT_MS)
        expect(self.widget.locator("#kz-modal")).to_be_hidden()
        # The partner page heard the widget's saveSuccess event too.
        expect(self.page.locator("#planner-status")).to_have_text("Your plan is saved.")
        self.shot("saved")

    # Inside the enroll modal.

    def modal_frame(self):
        handle = self.widget.locator(MODAL_FRAME).element_handle()
        return handle.content_frame()

    def expect_modal_at(self, path: str, **query: str) -> None:
        """Wait until the enroll frame shows the partner's ``path`` with ``query``."""
        pattern = re.escape(self.url(path)) + r"\?"
        for name, value in query.items():
            pattern += rf"(?=.*\b{re.escape(name)}={re.escape(value)}\b)"
        self.modal_frame().wait_for_url(re.compile(pattern))

    def log_in_in_modal(self, email: str, password: str) -> None:
        _fill_account_form(self.modal, email, password)
        self.shot("modal-login", in_modal=True)
        _submit(self.modal)

    def register_in_modal(self, email: str, password: str) -> None:
        self.modal.locator("a[href*='/register']").first.click()
        self.expect_modal_at("/register", access_method="kazaplan")
        _fill_account_form(self.modal, email, password)
        self.shot("modal-register", in_modal=True)
        _submit(self.modal)

    def kazaplan_account_step(self) -> None:
        form = self.modal.locator("#kazaplan-account")
        expect(form).to_be_visible(timeout=SAVE_TIMEOUT_MS)
        self.shot("kazaplan-account", in_modal=True)
        form.locator("[name=action]").first.click()

    def kazaplan_consent(self, decision: str) -> None:
        form = self.modal.locator("#kazaplan-consent")
        expect(form).to_be_visible()
        self.shot("kazaplan-consent", in_modal=True)
        form.locator(f"[name=decision][value={decision}]").click()

    def link_on_kazaplan(self) -> None:
        self.kazaplan_account_step()
        self.kazaplan_consent("accept")


def _fill_account_form(scope, email: str, password: str) -> None:
    form = scope.locator("form:has(input[type=password])").first
    form.locator("input[name=email]").fill(email)
    for box in form.locator("input[type=password]").all():
        box.fill(password)


def _submit(scope) -> None:
    form = scope.locator("form:has(input[type=password])").first
    form.locator("[type=submit]").first.click()


def _redacted(url: str) -> str:
    # Evidence files keep the shape of each request, not its secrets.
    return SECRET_PARAMETER.sub(r"\1=***", url)


def _cookie_summary(cookie: dict) -> str:
    flags = [
        f"SameSite={cookie.get('sameSite')}",
        "Secure" if cookie.get("secure") else "",
        "HttpOnly" if cookie.get("httpOnly") else "",
        f"partitionKey={cookie['partitionKey']}" if cookie.get("partitionKey") else "",
    ]
    shown = " ".join(flag for flag in flags if flag)
    return f"{cookie['name']} domain={cookie['domain']} path={cookie['path']} {shown}"


# Messages posted to the widget's window by a frame of the page.

# A listener added after the widget's own runs after it for the same message:
# once it has heard a message's probe, the widget has handled that message.
_LISTEN_FOR_PROBES = """() => {
  if (window.kzlinkProbesHeard) { return; }
  window.kzlinkProbesHeard = [];
  window.addEventListener("message", (event) => {
    if (event.data && event.data.probe) {
      window.kzlinkProbesHeard.push(event.data.probe);
    }
  });
}"""
_POST_TO_WIDGET = """([message, widgetFrame]) => {
  const widget = window === window.top
    ? document.querySelector(widgetFrame).contentWindow
    : window.parent;
  const probe = String(Math.random());
  widget.postMessage({ ...message, probe }, "*");
  return probe;
}"""


def widget_frame(shopper):
    """The widget's frame, to run scripts in (``shopper.widget`` locates in it)."""
    return shopper.page.locator(WIDGET_FRAME).element_handle().content_frame()


def post_to_widget(shopper, sender, message: dict) -> None:
    """Post ``message`` to the widget's window from the frame ``sender``: the
    top page, or a frame inside the widget (the enroll modal's). Return once
    the widget has handled it."""
    widget = widget_frame(shopper)
    widget.evaluate(_LISTEN_FOR_PROBES)

    probe = sender.evaluate(_POST_TO_WIDGET, [message, WIDGET_FRAME])

    widget.wait_for_function(
        "(probe) => window.kzlinkProbesHeard.includes(probe)", arg=probe
    )
