"""The widget: the script a partner page loads, the planner page it frames, and
the endpoint that saves the planner's plans.

The planner page sets no cookie and needs none: it is framed cross-site, and
authenticates its saves with the Bearer token the partner hands it.
"""

import logging
from importlib.resources import files

from pyramid.response import Response

from kzlink.simulator.views.common import (
    authenticated,
    error_page,
    json_response,
    page,
    simulator,
)

log = logging.getLogger(__name__)

MAX_ITEMS = 500
MAX_TEXT = 200
_SCRIPTS = files("kzlink.simulator") / "static" / "js"


def integration_script(request):
    return _script("integration.js")


def widget_script(request):
    return _script("widget.js")


def widget_page(request):
    partner_key = request.GET.get("partnerKey", "")
    client = simulator(request).client_by_partner_key(partner_key)
    if not partner_key or client is None:
        message = "Kazaplan cannot start: this partner key is not known."
        return error_page(request, message)
    response = page(
        request,
        "widget.jinja2",
        partner_key=partner_key,
        partner_origin=client.partner_origin,
        save_url=request.route_url("simulator.widget_plans"),
        script_url=request.route_url("simulator.widget_js"),
    )
    # Only the partner's own pages may frame its planner.
    csp = f"frame-ancestors {client.partner_origin}"
    response.headers["Content-Security-Policy"] = csp
    return response


@authenticated
def save_plan(request, user, client):
    try:
        plan_id, name, items = _parse_plan(request.json_body)
    except (ValueError, TypeError, AttributeError):
        body = {"status": "error", "code": 400, "message": "Malformed plan."}
        return json_response(body, status=400)
    plan = simulator(request).save_plan(
        user.id, client.partner_key, name, items, plan_id
    )
    if plan is None:
        body = {"status": "error", "code": 404, "message": "Plan not found."}
        return json_response(body, status=404)
    return json_response({"status": "success", "id": str(plan.id)})


def _parse_plan(data) -> tuple[int | None, str, tuple[str, ...]]:
    raw_id = data.get("id")
    plan_id = None if raw_id in (None, "") else int(str(raw_id))
    name = str(data.get("name") or "").strip()[:MAX_TEXT] or "Untitled plan"
    items = data.get("items") or []
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        raise ValueError("items")
    return plan_id, name, tuple(str(item)[:MAX_TEXT] for item in items)


def _script(name: str) -> Response:
    response = Response(
        (_SCRIPTS / name).read_bytes(),
        content_type="text/javascript",
        charset="utf-8",
    )
    response.headers["Cache-Control"] = "no-cache"
    return response
