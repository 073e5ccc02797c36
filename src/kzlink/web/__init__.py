"""kzlink's Pyramid wiring: ``config.include("kzlink")`` ends up here.

The settings are read first, since everything after depends on them; then come
templates, the database and its transaction per request, the two cookie
sessions, CSRF, the ports as services, the linking routes and views, the error
pages and the security headers. The demo partner site lives apart, in
:mod:`kzlink.web.demo`.

CSRF checks become the default for every view of the application, the
including one's too; a view that must accept foreign posts says
``require_csrf=False``. pyramid_retry is left out on purpose: replaying a
request after a refresh could spend a refresh token twice.
"""

from kzlink import settings as kzlink_settings


def includeme(config):
    config.registry.kzlink_settings = kzlink_settings.load(config.get_settings())

    config.include("pyramid_jinja2")
    config.include("pyramid_services")
    config.include("kzlink.adapters.sql")
    config.include("kzlink.web.sessions")
    config.set_default_csrf_options(require_csrf=True, header="X-CSRF-Token")
    config.include("kzlink.web.services")
    config.include("kzlink.web.routes")
    config.include("kzlink.web.security")
    config.include("kzlink.web.errors")
    config.include("kzlink.web.rendering")
    config.scan("kzlink.web.views")
