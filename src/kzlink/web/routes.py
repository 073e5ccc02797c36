"""Every route kzlink adds, with the kind of page it serves (see pages.py)."""

from kzlink.web.pages import ALWAYS, KAZAPLAN, Page, add_page

FRAMED_WITH_TOKEN = Page(ALWAYS, carries_token=True)
JSON_WITH_TOKEN = Page(carries_token=True, json=True)

# The enroll page posts the ticket form of its handshake.
ENROLL = Page(ALWAYS, carries_token=True, posts_forms=True)

LINKING = (
    ("kazaplan.enroll", "/kazaplan/enroll", ENROLL),
    ("kazaplan.enroll_ticket", "/kazaplan/enroll/ticket", FRAMED_WITH_TOKEN),
    ("kazaplan.callback", "/kazaplan/oauth/callback", FRAMED_WITH_TOKEN),
    ("kazaplan.refresh_token", "/kazaplan/refresh_token", JSON_WITH_TOKEN),
    # The planner page asks for a ticket that signs the enroll frame in.
    ("kazaplan.enrollment_ticket", "/kazaplan/enrollment_ticket", JSON_WITH_TOKEN),
    # The planner page redeems the frame's ticket to sign in at the top level.
    ("kazaplan.session_ticket", "/kazaplan/session_ticket", JSON_WITH_TOKEN),
    ("kazaplan.unlink", "/kazaplan/unlink", Page()),
)

DEMO = (
    # The planner page embeds the current access token, and a sign-out form.
    ("home", "/", Page(carries_token=True, posts_forms=True)),
    ("login", "/login", Page(KAZAPLAN)),
    ("register", "/register", Page(KAZAPLAN)),
    ("logout", "/logout", Page()),
    ("account", "/account", Page()),
)


def includeme(config):
    for name, pattern, page in LINKING:
        add_page(config, name, pattern, page)
    config.add_static_view("kzlink-static", "kzlink.web:static", cache_max_age=3600)


def include_demo(config):
    for name, pattern, page in DEMO:
        add_page(config, name, pattern, page)
