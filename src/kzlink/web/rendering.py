"""What every kzlink template can use besides its view's values."""

from pyramid.csrf import get_csrf_token
from pyramid.events import BeforeRender


def includeme(config):
    config.add_subscriber(add_template_globals, BeforeRender)


def add_template_globals(event):
    request = event["request"]
    if request is None:
        return
    # A function rather than a value: asking for the token writes the session,
    # which only pages with a form should do.
    event.setdefault("csrf_token", lambda: get_csrf_token(request))
