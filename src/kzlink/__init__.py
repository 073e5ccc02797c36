"""kzlink: the partner side of Kazaplan account linking.

``main`` is the WSGI application factory that ``pserve`` finds through the
``paste.app_factory`` entry point: the linking routes, the demo partner site and,
when ``kzlink.simulator`` is on, the built-in Kazaplan simulator under
``/simulator``. ``config.include("kzlink")`` adds only the linking routes to
another Pyramid application.
"""

from pyramid.config import Configurator


def includeme(config):
    config.include("kzlink.web")


def main(global_config, **settings):
    with Configurator(settings=settings) as config:
        config.include("kzlink")
        config.include("kzlink.web.demo")
        if config.registry.kzlink_settings.simulator:
            config.include("kzlink.simulator", route_prefix="/simulator")
    return config.make_wsgi_app()
