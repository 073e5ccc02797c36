"""The demo partner's pages. Accounts are the SQL user store's (argon2)."""

import logging

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import exception_view_config, view_config

from kzlink.adapters.sql import EmailTakenError
from kzlink.adapters.sql.throttle import WINDOW
from kzlink.domain import errors, usecases
from kzlink.domain.model import LinkState
from kzlink.domain.ports import IClock, IUserStore
from kzlink.web.demo import THROTTLE
from kzlink.web.errors import error_response
from kzlink.web.pages import access_method
from kzlink.web.params import form_value, query_value, safe_next
from kzlink.web.services import ports_for, session_of

log = logging.getLogger(__name__)

TEMPLATES = "kzlink.web:templates/"
MIN_PASSWORD = 8
MAX_EMAIL = 254
SIGN_IN_FAILED = "The email or password is not right."
# The same answer whether the account exists or not.
TOO_MANY_ATTEMPTS = "Too many attempts, try again in a few minutes."

STATE_WORDS = {
    LinkState.UNLINKED: "Not linked",
    LinkState.LINKED: "Linked",
    LinkState.EXPIRED: "Linked (the access will be renewed when needed)",
    LinkState.BROKEN: "Link expired: save a plan to link your account again",
}


@view_config(
    route_name="login", request_method="GET", renderer=TEMPLATES + "login.jinja2"
)
def login_page(request):
    return _form_page(request)


@view_config(
    route_name="login", request_method="POST", renderer=TEMPLATES + "login.jinja2"
)
def log_in(request):
    email, password = _credentials(request)
    try:
        user = _authenticate(request, email, password)
    except _TooManyAttempts:
        return _too_many_attempts(request)
    if user is None:
        return _form_page(request, error=SIGN_IN_FAILED, email=email, status=400)
    return _signed_in(request, user)


@view_config(
    route_name="register", request_method="GET", renderer=TEMPLATES + "register.jinja2"
)
def register_page(request):
    return _form_page(request)


@view_config(
    route_name="register", request_method="POST", renderer=TEMPLATES + "register.jinja2"
)
def register(request):
    email, password = _credentials(request)
    problem = _registration_problem(email, password)
    if problem is None:
        try:
            user = request.find_service(IUserStore).register(email, password)
            return _signed_in(request, user)
        except EmailTakenError as error:
            problem = error.message
    return _form_page(request, error=problem, email=email, status=400)


@view_config(route_name="logout", request_method="POST")
def log_out(request):
    session_of(request).sign_out()
    return HTTPSeeOther(request.route_url("home"))


@view_config(
    route_name="home", request_method="GET", renderer=TEMPLATES + "planner.jinja2"
)
def planner(request):
    user_id = session_of(request).user_id
    token = _current_token(request, user_id)
    user = _signed_in_user(request)
    return {
        "user": user,
        "widget_script_url": request.registry.kzlink_settings.widget_script_url,
        "planner": _planner_config(request, user_id, token, user is not None),
    }


@view_config(
    route_name="account", request_method="GET", renderer=TEMPLATES + "account.jinja2"
)
def account(request):
    command = usecases.ShowAccount(session_of(request).user_id)
    overview = usecases.show_account(command, ports_for(request))
    unlinked = bool(request.session.pop_flash("kzlink"))
    return {
        "user": overview.user,
        "overview": overview,
        "state_words": STATE_WORDS[overview.state],
        "linked": overview.state is not LinkState.UNLINKED,
        "unlinked": unlinked,
        "account": {"unlinked": unlinked},
    }


@exception_view_config(errors.NotSignedInError, route_name="account")
def account_needs_sign_in(error, request):
    login = request.route_url("login", _query={"next": request.route_path("account")})
    return HTTPSeeOther(login)


def _current_token(request, user_id):
    """The signed-in shopper's working access token, refreshed when expired;
    '' when there is none to give the widget (it then enrolls on save)."""
    if user_id is None:
        return ""
    try:
        outcome = usecases.refresh(usecases.Refresh(user_id), ports_for(request))
    except errors.Error as error:
        log.info("no token for the planner user_id=%s error=%s", user_id, error.code)
        return ""
    return outcome.access_token if isinstance(outcome, usecases.AccessGranted) else ""


def _planner_config(request, user_id, token, signed_in):
    settings = request.registry.kzlink_settings
    return {
        "env": "production" if settings.production else "preprod",
        "widget": {
            "partnerKey": settings.partner_key,
            "customerShopId": user_id or "",
            "token": token,
            "plan": {"id": None, "mode": "create"},
            "environment": "production" if settings.production else "preprod",
            "authentication": {
                "url": settings.public_url.rstrip("/") + "/kazaplan/enroll",
                "iframe": {"title": "Sign in to save your plan"},
            },
        },
        "refreshUrl": request.route_url("kazaplan.refresh_token"),
        "ticketUrl": request.route_url("kazaplan.enrollment_ticket"),
        "sessionTicketUrl": request.route_url("kazaplan.session_ticket"),
        "signedIn": signed_in,
        "accountUrl": request.route_path("account"),
        "logoutUrl": request.route_path("logout"),
        "csrfToken": request.session.get_csrf_token(),
    }


def _signed_in_user(request):
    user_id = session_of(request).user_id
    return request.find_service(IUserStore).get(user_id) if user_id else None


class _TooManyAttempts(Exception):
    pass


def _authenticate(request, email, password):
    """The user these credentials open, or None; raises _TooManyAttempts past
    the bound on failures for this account or this address."""
    throttle = request.find_service(name=THROTTLE)
    # REMOTE_ADDR, not ``client_addr`` (the first X-Forwarded-For entry, which
    # any client writes); behind a proxy, waitress sets it (production.ini).
    address, now = request.remote_addr, request.find_service(IClock).now()
    if throttle.blocked(email, address, now):
        log.info("sign-in refused: too many failures")
        raise _TooManyAttempts()

    users = request.find_service(IUserStore)
    user = users.authenticate(email, password) if email and password else None
    if user is None:
        throttle.failed(email, address, now)
        log.info("sign-in refused")
        return None
    throttle.succeeded(email)
    return user


def _credentials(request):
    email = (form_value(request, "email") or "").strip()
    return email, form_value(request, "password") or ""


def _registration_problem(email, password):
    if not email or len(email) > MAX_EMAIL or "@" not in email.strip("@"):
        return "Please give a valid email address."
    if len(password) < MIN_PASSWORD:
        return f"Please choose a password of at least {MIN_PASSWORD} characters."
    return None


def _signed_in(request, user):
    session_of(request).sign_in(user.id)
    framed = access_method(request) == "kazaplan"
    default = request.route_path("kazaplan.enroll") if framed else "/"
    return HTTPSeeOther(safe_next(form_value(request, "next"), default))


def _too_many_attempts(request):
    response = error_response(request, 429, "too_many_attempts", TOO_MANY_ATTEMPTS)
    response.headers["Retry-After"] = str(int(WINDOW.total_seconds()))
    return response


def _form_page(request, error=None, email="", status=200):
    method = access_method(request)
    kept = {"access_method": "kazaplan"} if method == "kazaplan" else {}
    next_path = form_value(request, "next") or query_value(request, "next")
    if next_path:
        kept["next"] = next_path
    request.response.status_int = status
    return {
        "bare": method == "kazaplan",
        "user": _signed_in_user(request),
        "access_method": kept.get("access_method"),
        "next": kept.get("next"),
        "other_query": kept,
        "error": error,
        "email": email,
        "min_password": MIN_PASSWORD,
    }
