"""The simulator's routes and views, registered explicitly.

Views are added here rather than by a scan, so that an application scanning the
whole ``kzlink`` package does not pick them up without their routes. Route names
start with ``simulator.`` to stay clear of the including application's.
"""

from pyramid.security import NO_PERMISSION_REQUIRED

from kzlink.simulator.views import api, authorize, token, widget

ROUTES = (
    ("authorize", "/authorize", "GET", authorize.show_account_step),
    ("authorize_account", "/authorize/account", "POST", authorize.choose_account),
    ("authorize_consent", "/authorize/consent", "POST", authorize.decide),
    ("token", "/oauth/token", "POST", token.token),
    ("v3_user", "/v3/users", "GET", api.current_user),
    ("v3_plans", "/v3/users/plans", "GET", api.user_plans),
    ("v3_plan_png", r"/v3/plans/{plan_id:\d{1,18}}.png", "GET", api.plan_picture),
    ("integration_js", "/js/integration.js", "GET", widget.integration_script),
    ("widget_js", "/js/widget.js", "GET", widget.widget_script),
    ("widget", "/widget", "GET", widget.widget_page),
    ("widget_plans", "/widget/plans", "POST", widget.save_plan),
)


def includeme(config):
    for name, pattern, method, view in ROUTES:
        config.add_route(f"simulator.{name}", pattern, request_method=method)
        config.add_view(
            view,
            route_name=f"simulator.{name}",
            request_method=method,
            permission=NO_PERMISSION_REQUIRED,
            require_csrf=False,
        )
