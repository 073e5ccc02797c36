"""The ISession adapter over Pyramid's session."""

from pyramid import testing
from pyramid.csrf import get_csrf_token
from pyramid.session import SignedCookieSessionFactory
from zope.interface.verify import verifyClass

from kzlink.adapters.session import PyramidSession
from kzlink.domain.ports import ISession


def test_implements_the_port():
    assert verifyClass(ISession, PyramidSession)


def signed_cookie_request():
    request = testing.DummyRequest()
    request.session = SignedCookieSessionFactory("test-secret")(request)
    return request


def test_sign_in_starts_a_fresh_session_and_csrf_token():
    with testing.testConfig():
        request = signed_cookie_request()
        request.session["planted"] = "before sign-in"
        before = get_csrf_token(request)
        session = PyramidSession(request)

        session.sign_in("42")

        assert session.user_id == "42"
        assert "planted" not in request.session
        assert get_csrf_token(request) != before


def test_sign_out_forgets_the_user_and_the_token():
    with testing.testConfig():
        request = signed_cookie_request()
        session = PyramidSession(request)
        session.sign_in("42")
        token = get_csrf_token(request)

        session.sign_out()

        assert session.user_id is None
        assert get_csrf_token(request) != token


def test_browser_session_is_stable_until_sign_in_or_out():
    with testing.testConfig():
        request = signed_cookie_request()
        session = PyramidSession(request)
        first = session.browser_session

        assert session.browser_session == first
        session.sign_in("42")
        signed_in = session.browser_session
        session.sign_out()

        assert len({first, signed_in, session.browser_session}) == 3
        assert len(first) >= 22
