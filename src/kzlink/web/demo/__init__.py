"""The demo partner site: its own accounts, the planner page and an account page.

Included by :func:`kzlink.main` only. It shows how a partner's pages use kzlink:
the login and register pages have an iframe look (``access_method=kazaplan``)
for the widget's modal, the planner page embeds the widget with the current
token and handles its events, the account page shows and removes the link.
Failed sign-ins are bounded per account and per client address
(:mod:`kzlink.adapters.sql.throttle`).
"""

import hashlib

from kzlink.adapters.sql.throttle import SqlLoginThrottle

THROTTLE = "kzlink.login_throttle"


def includeme(config):
    config.include("kzlink.web.routes.include_demo")
    key = throttle_key(config.registry.kzlink_settings.session_secret)

    def login_throttle(context, request):
        factory = request.registry.dbsession_factory
        return SqlLoginThrottle(request.kzlink_dbsession, factory, key)

    config.register_service_factory(login_throttle, name=THROTTLE)
    config.scan("kzlink.web.demo.views")


def throttle_key(session_secret: str) -> bytes:
    """The key of the email digests, derived so that it is no session key."""
    return hashlib.sha256(b"kzlink.login_throttle\0" + session_secret.encode()).digest()
