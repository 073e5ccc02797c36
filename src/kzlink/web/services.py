"""The ports as pyramid_services services, and :func:`ports_for` a request.

Kazaplan's HTTP client, the token cipher and the clock are built once per
process (the client holds the pooled connections); the stores are built per
request around its database session. The user store is the factory that the
``user_store`` setting names, so that a partner plugs in its own.
"""

from kzlink.adapters.cipher import TokenCipher
from kzlink.adapters.clock import SystemClock
from kzlink.adapters.kazaplan_http import HttpKazaplan
from kzlink.adapters.session import PyramidSession
from kzlink.adapters.sql import (
    SqlEnrollmentTickets,
    SqlLinkStore,
    SqlPendingAuthorizations,
    lock_wait_ms,
)
from kzlink.adapters.sql.links import check_keys
from kzlink.domain.errors import TokenDecryptionError
from kzlink.domain.ports import (
    IClock,
    IEnrollmentTickets,
    IKazaplan,
    ILinkStore,
    IPendingAuthorizations,
    ISession,
    ITokenCipher,
    IUserStore,
)
from kzlink.domain.usecases import Policy, Ports
from kzlink.settings import SettingsError


def includeme(config):
    settings = config.registry.kzlink_settings
    clock = SystemClock()
    config.registry.kzlink_policy = Policy(
        redirect_uri=settings.redirect_uri,
        expiry_margin=settings.token_expiry_margin,
        authorization_ttl=settings.authorization_ttl,
        use_pkce=settings.pkce,
    )
    cipher = _cipher(settings, config.registry.dbsession_factory)
    config.register_service(clock, IClock)
    config.register_service(cipher, ITokenCipher)
    config.register_service(HttpKazaplan.from_settings(settings, clock), IKazaplan)

    config.register_service_factory(_links, ILinkStore)
    config.register_service_factory(_authorizations, IPendingAuthorizations)
    config.register_service_factory(_tickets, IEnrollmentTickets)
    config.register_service_factory(_session, ISession)
    config.register_service_factory(_user_store(config, settings), IUserStore)


def ports_for(request) -> Ports:
    find = request.find_service
    return Ports(
        kazaplan=find(IKazaplan),
        links=find(ILinkStore),
        authorizations=find(IPendingAuthorizations),
        users=find(IUserStore),
        clock=find(IClock),
        policy=request.registry.kzlink_policy,
        tickets=find(IEnrollmentTickets),
    )


def session_of(request):
    """The ISession of this request's browser context."""
    return request.find_service(ISession)


def _cipher(settings, session_factory):
    try:
        cipher = TokenCipher.from_setting(settings.token_keys)
        check_keys(session_factory, cipher)
    except ValueError as error:
        raise SettingsError(str(error)) from None
    except TokenDecryptionError:
        raise SettingsError(
            "kzlink.token_keys (KZLINK_TOKEN_KEYS) holds no key that decrypts the "
            "stored tokens: the key that encrypted them is missing"
        ) from None
    return cipher


def _links(context, request):
    settings = request.registry.kzlink_settings
    cipher = request.find_service(ITokenCipher)
    return SqlLinkStore(
        request.kzlink_dbsession,
        cipher,
        lock=settings.refresh_lock,
        session_factory=request.registry.dbsession_factory,
        lock_timeout_ms=lock_wait_ms(settings),
    )


def _authorizations(context, request):
    return SqlPendingAuthorizations(
        request.kzlink_dbsession,
        request.registry.dbsession_factory,
        request.find_service(ITokenCipher),
    )


def _tickets(context, request):
    return SqlEnrollmentTickets(
        request.kzlink_dbsession, request.registry.dbsession_factory
    )


def _session(context, request):
    return PyramidSession(request)


def _user_store(config, settings):
    # The setting names a factory called with the request, or a class whose
    # ``from_request`` is that factory.
    named = config.maybe_dotted(settings.user_store)
    factory = getattr(named, "from_request", named)

    def user_store(context, request):
        return factory(request)

    return user_store
