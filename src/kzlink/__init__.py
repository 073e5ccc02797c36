"""kzlink: the partner side of Kazaplan account linking.

``main`` is the WSGI application factory that ``pserve`` finds through the
``paste.app_factory`` entry point: the linking routes, the demo partner site and,
when ``kzlink.simulator`` is on, the built-in Kazaplan simulator under
``/simulator``. ``config.include("kzlink")`` adds only the linking routes to
another Pyramid application.
"""

import logging

from pyramid.config import Configurator

from kzlink import redaction
from kzlink.settings import check

log = logging.getLogger(__name__)


def includeme(config):
    redaction.install()
    config.include("kzlink.web")
    settings = config.registry.kzlink_settings
    _register_secrets(settings)
    for warning in check(settings):
        log.warning(warning)


def main(global_config, **settings):
    with Configurator(settings=settings) as config:
        config.include("kzlink")
        config.include("kzlink.web.demo")
        if config.registry.kzlink_settings.simulator:
            config.include("kzlink.simulator", route_prefix="/simulator")
    return config.make_wsgi_app()


def _register_secrets(settings):
    redaction.register_secret(settings.client_secret)
    redaction.register_secret(settings.session_secret)
    for key in settings.token_keys.replace(",", " ").split():
        redaction.register_secret(key)
