"""The ports: what the domain needs from the world, as zope interfaces.

Each method documents what it returns, what it returns when nothing is found and
what it raises, so that adapters need little documentation of their own. All
times are timezone-aware UTC datetimes.
"""

from dataclasses import dataclass

from zope.interface import Attribute, Interface


class IKazaplan(Interface):
    """Kazaplan's OAuth server and v3 API, as a partner uses them."""

    def authorize_url(state, redirect_uri, email, code_challenge=None):
        """Return the URL of Kazaplan's authorize page for this authorization.

        ``code_challenge`` is the PKCE S256 challenge, sent only when given.
        Builds a string; makes no request.
        """

    def exchange_code(code, redirect_uri, code_verifier=None):
        """Exchange an authorization code; return :class:`Tokens`.

        Raises CodeRefusedError when Kazaplan refuses the code (used, expired,
        issued to another client or redirect URI), ClientRejectedError when it
        refuses our client credentials, KazaplanUnavailableError when it cannot
        be reached or answers anything but a well-formed token.
        """

    def refresh(refresh_token):
        """Exchange a refresh token for new :class:`Tokens` (a new refresh token
        included: the old one must not be used again).

        Raises RefreshRefusedError when Kazaplan refuses the refresh token,
        ClientRejectedError and KazaplanUnavailableError as ``exchange_code``.
        """

    def fetch_user(access_token):
        """Return the :class:`KazaplanUser` of ``access_token``.

        Raises AccessTokenRejectedError on 401, KazaplanUnavailableError when
        Kazaplan cannot be reached or answers garbage.
        """

    def list_plans(access_token, page=1, limit=20):
        """Return a :class:`PlanPage` of the user's plans, newest first.

        Raises as ``fetch_user``.
        """


class ILinkStore(Interface):
    """Where links live. One link per partner user."""

    def get(user_id):
        """Return the :class:`Link` of ``user_id``; an unlinked link of version 0
        when none was ever saved. Raises TokenDecryptionError when the stored
        tokens cannot be decrypted."""

    def find_by_kazaplan_user(kazaplan_user_id):
        """Return the link holding ``kazaplan_user_id``, or None."""

    def save(link):
        """Store ``link`` and return it with its version incremented.

        The write applies only if the stored version still equals
        ``link.version`` (0: nothing stored yet); otherwise raises
        LinkChangedError and stores nothing, so that two writers never lose each
        other's tokens. Saving an unlinked link forgets its tokens for good.
        """

    def locked(user_id):
        """Return a context manager for one refresh of the link of ``user_id``:
        a short unit of work of its own, apart from the caller's, holding a
        lock that one refresh at a time may hold.

        It yields a handle whose ``link`` is the link as read once the lock is
        held, and whose ``get(user_id)`` and ``save(link)`` behave as this
        store's but inside the lock's unit of work. Reads and writes within the
        block go through the handle: a write through the store itself would
        wait for the very lock the block holds.

        The unit of work commits when the block exits normally, so that what
        was saved in it is durable at once whatever the caller's unit of work
        does next, and the lock is released then; it rolls back when the block
        raises. Other callers of ``locked`` for the same user wait until then,
        across processes when the store is a database, and get LinkBusyError
        when the wait outlasts what the store allows (longer than a Kazaplan
        call). ``get`` never waits for the lock: take it only to write.
        """


@dataclass(frozen=True)
class LockedLink:
    """What ``ILinkStore.locked`` yields: the link as read under the lock, and
    ``get`` and ``save`` working in the lock's unit of work, through ``store``
    (a link store bound to that unit of work)."""

    link: object
    store: object

    def get(self, user_id):
        return self.store.get(user_id)

    def save(self, link):
        return self.store.save(link)


class IPendingAuthorizations(Interface):
    """Authorizations in flight, each taken at most once."""

    def record(authorization):
        """Store a :class:`PendingAuthorization`, durably at once."""

    def take(state, now):
        """Mark the authorization of ``state`` used and return it.

        Taking is final even when what follows fails. Raises StateUnknownError
        when no such state was issued, StateUsedError when it was taken before,
        StateExpiredError when ``now`` is past its expiry.
        """


class IEnrollmentTickets(Interface):
    """Short-lived, single-use tickets that carry a signed-in user from the
    partner's page into the enroll frame, where third-party cookies may be
    blocked. Only a digest of each ticket is stored."""

    def issue(ticket):
        """Store an :class:`EnrollmentTicket`, in the current unit of work."""

    def redeem(secret, now):
        """Mark the ticket whose secret is ``secret`` used; return its user id.

        Redeeming is final even when what follows fails. Raises
        TicketInvalidError when the ticket is unknown, used or expired.
        """


class IUserStore(Interface):
    """The partner's own users. kzlink only reads them."""

    def get(user_id):
        """Return the :class:`PartnerUser` of ``user_id``, or None."""


class ISession(Interface):
    """Who is signed in, in the browser context of the current request."""

    user_id = Attribute("The signed-in partner user id (str), or None.")
    browser_session = Attribute(
        "A random value (str) naming this browser session: made when first "
        "read, renewed at every sign-in and sign-out. An authorization started "
        "in one browser session completes only in the same one."
    )

    def sign_in(user_id):
        """Remember ``user_id`` as signed in for this browser context."""

    def sign_out():
        """Forget whoever is signed in."""


class IClock(Interface):
    def now():
        """Return the current time, timezone-aware UTC."""


class ITokenCipher(Interface):
    """Authenticated encryption of tokens at rest."""

    def encrypt(plaintext, context):
        """Return ciphertext (str) for ``plaintext``, bound to ``context`` (a str
        naming where it is stored, e.g. the user id and column): it decrypts
        only with the same context."""

    def decrypt(ciphertext, context):
        """Return the plaintext. Raises TokenDecryptionError when no key fits,
        the context differs or the ciphertext was altered."""

    def needs_rotation(ciphertext):
        """Return True when ``ciphertext`` was not made with the newest key."""
