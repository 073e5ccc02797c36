"""Kazaplan over HTTP: the IKazaplan port implemented with ``requests``.

One pooled ``requests.Session`` per process, explicit connect and read timeouts,
token calls form-encoded with HTTP Basic client authentication. RFC 6749 error
answers become domain errors; anything else that goes wrong on the wire
(timeouts, refused connections, 5xx, a body that is not the expected JSON) is
"Kazaplan unavailable". Only reads are retried: retrying a token call could
spend a code or rotate a refresh token twice.
"""

import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry
from zope.interface import implementer

from kzlink.domain import errors
from kzlink.domain.model import KazaplanUser, Plan, PlanPage, Tokens
from kzlink.domain.ports import IKazaplan

log = logging.getLogger(__name__)


class _Malformed(Exception):
    """A Kazaplan answer is not in the documented shape."""


# What reading an answer of the wrong shape can raise.
_MALFORMED = (_Malformed, KeyError, TypeError, ValueError, OverflowError)
# Bounds of the numbers read from Kazaplan: ids fit a 64-bit column, counts and
# pages a 32-bit one, and a token lifetime stays within timedelta's range.
_MAX_ID = 2**63 - 1
_MAX_COUNT = 2**31 - 1
_MAX_LIFETIME_SECONDS = 2**31 - 1


@implementer(IKazaplan)
class HttpKazaplan:
    def __init__(
        self,
        *,
        authorize_endpoint: str,
        api_url: str,
        client_id: str,
        client_secret: str,
        scope: str,
        secret_in_authorize_url: bool = True,
        timeout: tuple[float, float] = (3.05, 10.0),
        session: requests.Session | None = None,
        clock=None,
    ):
        self._authorize_endpoint = authorize_endpoint
        self._api_url = api_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self._secret_in_authorize_url = secret_in_authorize_url
        self._timeout = timeout
        self._http = session or pooled_session()
        self._now = clock.now if clock else _utc_now

    @classmethod
    def from_settings(cls, settings, clock=None) -> "HttpKazaplan":
        return cls(
            authorize_endpoint=settings.authorize_url,
            api_url=settings.api_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            scope=settings.scope,
            secret_in_authorize_url=settings.secret_in_authorize_url,
            timeout=(settings.http_connect_timeout, settings.http_read_timeout),
            clock=clock,
        )

    def authorize_url(self, state, redirect_uri, email, code_challenge=None):
        params = {
            "client_id": self._client_id,
            "scope": self._scope,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "email": email,
            "state": state,
        }
        if self._secret_in_authorize_url:
            # Kazaplan's guide calls the secret mandatory here, although it then
            # sits in browser histories and access logs (see the README).
            params["client_secret"] = self._client_secret
        if code_challenge:
            params["code_challenge"] = code_challenge
            params["code_challenge_method"] = "S256"
        separator = "&" if "?" in self._authorize_endpoint else "?"
        return self._authorize_endpoint + separator + urlencode(params)

    def exchange_code(self, code, redirect_uri, code_verifier=None):
        form = {
            "grant_type": "authorization_code",
            "code": code,
            # RFC 6749 section 4.1.3: required when the authorize request had it.
            "redirect_uri": redirect_uri,
        }
        if code_verifier:
            form["code_verifier"] = code_verifier
        return self._token_request(form, errors.CodeRefusedError)

    def refresh(self, refresh_token):
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self._token_request(form, errors.RefreshRefusedError, refresh_token)

    def fetch_user(self, access_token):
        body = self._get("/v3/users", access_token)
        try:
            return _user(body)
        except _MALFORMED as error:
            raise _unavailable("user", f"malformed user: {error}") from None

    def list_plans(self, access_token, page=1, limit=20):
        body = self._get(
            "/v3/users/plans", access_token, {"page": page, "limit": limit}
        )
        try:
            return _plan_page(body)
        except _MALFORMED as error:
            raise _unavailable("plans", f"malformed plan list: {error}") from None

    # The wire.

    def _token_request(self, form, refused_error, previous_refresh_token=None):
        grant = form["grant_type"]
        response = self._send(
            "token",
            "POST",
            f"{self._api_url}/oauth/token",
            # The guide's own request repeats grant_type in the query string;
            # the documented server is known to accept it there and in the body.
            params={"grant_type": grant},
            data=form,
            auth=(self._client_id, self._client_secret),
            headers={"Accept": "application/json"},
        )
        if response.status_code in (400, 401):
            raise _token_error(grant, response, refused_error)
        body = _json_body("token", response)
        try:
            return _tokens(body, self._now(), previous_refresh_token)
        except _MALFORMED as error:
            raise _unavailable("token", f"malformed token answer: {error}") from None

    def _get(self, path, access_token, params=None):
        response = self._send(
            path,
            "GET",
            self._api_url + path,
            params=params,
            headers={
                "Authorization": f"Bearer {access_token}",
                "Accept": "application/json",
            },
        )
        if response.status_code == 401:
            log.warning("kazaplan refused an access token call=%s", path)
            raise errors.AccessTokenRejectedError(f"{path} answered 401")
        return _json_body(path, response)

    def _send(self, call, method, url, **kwargs):
        try:
            return self._http.request(method, url, timeout=self._timeout, **kwargs)
        except requests.RequestException as error:
            raise _unavailable(call, type(error).__name__) from None


def pooled_session(pool_size: int = 16) -> requests.Session:
    """A session whose reads are retried on connection failures and 502-504."""
    session = requests.Session()
    retries = Retry(
        total=2,
        connect=2,
        read=0,
        status=2,
        status_forcelist=(502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        backoff_factor=0.2,
        raise_on_status=False,
    )
    adapter = HTTPAdapter(
        pool_connections=4, pool_maxsize=pool_size, max_retries=retries
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _json_body(call, response):
    if response.status_code != 200:
        raise _unavailable(call, f"status {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        raise _unavailable(call, "answer is not JSON") from None
    if not isinstance(body, dict):
        raise _unavailable(call, "answer is not a JSON object")
    return body


def _token_error(grant, response, refused_error):
    try:
        code = response.json().get("error")
    except (ValueError, AttributeError):
        code = None
    log.warning(
        "kazaplan refused a token request grant=%s status=%s error=%s",
        grant,
        response.status_code,
        code,
    )
    if code == "invalid_grant":
        return refused_error(f"{grant}: invalid_grant")
    if code or response.status_code == 401:
        # invalid_client, invalid_request, unsupported_grant_type, ...: the
        # request kzlink built was not accepted, which only a configuration
        # change fixes.
        return errors.ClientRejectedError(f"{grant}: {code}")
    return _unavailable("token", f"status {response.status_code} without error code")


def _unavailable(call, why):
    log.warning("kazaplan unavailable call=%s reason=%s", call, why)
    return errors.KazaplanUnavailableError(f"{call}: {why}")


def _tokens(body, now, previous_refresh_token):
    if str(body.get("token_type", "")).lower() != "bearer":
        raise _Malformed("token_type is not Bearer")
    expires_in = _whole(body["expires_in"], 1, _MAX_LIFETIME_SECONDS)
    # RFC 6749 section 6 lets a server keep the refresh token: then it stays.
    refresh_token = body.get("refresh_token") or previous_refresh_token
    return Tokens(
        access_token=_text(body["access_token"]),
        refresh_token=_text(refresh_token),
        expires_at=now + timedelta(seconds=expires_in),
        scope=str(body.get("scope") or ""),
    )


def _user(body):
    return KazaplanUser(
        id=_whole(body["id"], 1, _MAX_ID),
        email=_text(body["email"]),
        username=str(body.get("username") or ""),
        first_name=str(body.get("firstName") or ""),
        last_name=str(body.get("lastName") or ""),
        country_code=body.get("countryCode") or None,
        nb_plans=_optional_count(body.get("nbPlans")),
    )


def _plan_page(body):
    results = body.get("results") or []
    if not isinstance(results, list):
        raise _Malformed("results is not a list")
    plans = tuple(
        Plan(
            id=_text(str(item["id"])),
            title=str(item.get("title") or ""),
            created_at=_timestamp(item.get("created_at") or item.get("createdAt")),
            updated_at=_timestamp(item.get("updatedAt") or item.get("updated_at")),
        )
        for item in results
    )
    return PlanPage(
        plans=plans,
        page=_whole(body.get("page") or 1, 1, _MAX_COUNT),
        pages=_whole(body.get("pages") or 1, 1, _MAX_COUNT),
        count=_whole(body.get("count") or len(plans), 0, _MAX_COUNT),
    )


def _text(value):
    if not isinstance(value, str) or not value:
        raise _Malformed("expected a non-empty string")
    return value


def _optional_count(value):
    if value in (None, ""):
        return None
    return _whole(value, 0, _MAX_COUNT)


def _whole(value, low, high):
    # JSON numbers may come as 7, 7.0 or "7"; never as true, 7.5 or 1e400.
    if isinstance(value, bool):
        raise _Malformed("expected a number, not a boolean")
    if isinstance(value, float) and not value.is_integer():
        raise _Malformed("expected a whole number")
    number = int(value)
    if not low <= number <= high:
        raise _Malformed(f"number out of range {low}..{high}")
    return number


def _timestamp(value):
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _utc_now():
    return datetime.now(UTC)
