"""Serve the Kazaplan simulator alone: ``python -m kzlink.simulator --help``.

Example, for a partner site on http://127.0.0.1:6543::

    python -m kzlink.simulator --port 6544 --client-id kzlink-demo \\
        --client-secret development-client-secret \\
        --redirect-uri http://127.0.0.1:6543/kazaplan/oauth/callback \\
        --partner-key kzlink-demo --partner-origin http://127.0.0.1:6543
"""

import argparse
import logging
from datetime import timedelta

import waitress

from kzlink import redaction
from kzlink.simulator import DEFAULT_TOKEN_LIFETIME, make_wsgi_app
from kzlink.simulator.state import Client, Simulator

log = logging.getLogger(__name__)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m kzlink.simulator",
        description="A Kazaplan stand-in for development. Never for production.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6544)
    parser.add_argument("--route-prefix", default="/simulator")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument(
        "--redirect-uri", required=True, action="append", help="may be repeated"
    )
    parser.add_argument("--partner-key", required=True)
    parser.add_argument("--partner-origin", required=True)
    parser.add_argument(
        "--token-lifetime",
        type=float,
        default=DEFAULT_TOKEN_LIFETIME,
        help="access token lifetime in seconds (default: %(default)s)",
    )
    return parser.parse_args(argv)


def main(argv=None):
    redaction.install()
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    client = Client(
        client_id=args.client_id,
        client_secret=args.client_secret,
        redirect_uris=tuple(args.redirect_uri),
        partner_key=args.partner_key,
        partner_origin=args.partner_origin.rstrip("/"),
    )
    sim = Simulator([client], token_lifetime=timedelta(seconds=args.token_lifetime))
    app = make_wsgi_app(sim, args.route_prefix)
    log.info(
        "simulator serving http://%s:%s%s", args.host, args.port, args.route_prefix
    )
    waitress.serve(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
