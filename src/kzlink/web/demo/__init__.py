"""The demo partner site: its own accounts, the planner page and an account page.

Included by :func:`kzlink.main` only. It shows how a partner's pages use kzlink:
the login and register pages have an iframe look (``access_method=kazaplan``)
for the widget's modal, the planner page embeds the widget with the current
token and handles its events, the account page shows and removes the link.
"""


def includeme(config):
    config.include("kzlink.web.routes.include_demo")
    config.scan("kzlink.web.demo.views")
