"""A stand-in for Kazaplan, for development, demos and tests. Never for production.

It serves, under one base URL B (``/simulator`` by default):

- ``B/authorize``: the authorize pages (sign up or sign in in one click, then
  accept or refuse), their state carried in signed hidden fields, not cookies;
- ``B/oauth/token``: the token endpoint (``authorization_code`` and
  ``refresh_token`` grants, HTTP Basic client authentication);
- ``B/v3/users``, ``B/v3/users/plans``, ``B/v3/plans/{id}.png``: the v3 API;
- ``B/js/integration.js``, ``B/widget``, ``B/widget/plans``: the widget.

Three ways to run it:

- inside kzlink: ``config.include("kzlink.simulator", route_prefix="/simulator")``
  builds one :class:`~kzlink.simulator.state.Simulator` from
  ``registry.kzlink_settings`` (the client kzlink is configured with) and keeps it
  at ``registry.kazaplan_simulator``;
- alone: ``python -m kzlink.simulator --help``;
- from an ini file, ``use = egg:kzlink#simulator`` with the settings
  ``simulator.client_id``, ``simulator.client_secret``, ``simulator.redirect_uris``
  (one or more, separated by white space), ``simulator.partner_key``,
  ``simulator.partner_origin``, ``simulator.token_lifetime`` (seconds, default
  604799) and ``simulator.route_prefix`` (default ``/simulator``).

It needs no database and no transaction manager; its views require no CSRF token
and no permission, whatever the including application's defaults are.
"""

from datetime import timedelta

from pyramid.config import Configurator

from kzlink.simulator.state import Client, Simulator

DEFAULT_TOKEN_LIFETIME = 604799


def includeme(config):
    settings = config.registry.kzlink_settings
    client = Client(
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        redirect_uris=(settings.redirect_uri,),
        partner_key=settings.partner_key,
        partner_origin=settings.public_origin,
    )
    sim = Simulator([client], token_lifetime=settings.simulator_token_lifetime)
    install(config, sim)


def install(config, sim: Simulator) -> None:
    """Serve ``sim`` from ``config``, under its current route prefix."""
    config.registry.kazaplan_simulator = sim
    config.include("pyramid_jinja2")
    config.include("kzlink.simulator.routes")


def make_wsgi_app(sim: Simulator, route_prefix: str = "/simulator"):
    """A WSGI application serving only ``sim``, under ``route_prefix``."""
    with Configurator(settings={}) as config, config.route_prefix_context(route_prefix):
        install(config, sim)
    return config.make_wsgi_app()


def paste_app(global_config, **settings):
    """The ``paste.app_factory`` of the simulator alone (keys: see above)."""
    client = Client(
        client_id=settings["simulator.client_id"],
        client_secret=settings["simulator.client_secret"],
        redirect_uris=tuple(settings["simulator.redirect_uris"].split()),
        partner_key=settings["simulator.partner_key"],
        partner_origin=settings["simulator.partner_origin"].rstrip("/"),
    )
    lifetime = float(settings.get("simulator.token_lifetime", DEFAULT_TOKEN_LIFETIME))
    sim = Simulator([client], token_lifetime=timedelta(seconds=lifetime))
    return make_wsgi_app(sim, settings.get("simulator.route_prefix", "/simulator"))
