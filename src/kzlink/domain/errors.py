"""The failures a shopper or a partner page can meet, named in the domain's terms.

Every error has a stable machine-readable ``code`` (used in JSON answers and
logs) and a ``message`` written to be shown to a shopper as it is. The web layer
maps each class to an HTTP status; the domain knows nothing of HTTP.
"""


class Error(Exception):
    """Base of every kzlink domain error."""

    code = "error"
    message = "Something went wrong while linking your Kazaplan account."

    def __init__(self, detail: str | None = None):
        # The detail is for logs and developers; the message is for shoppers.
        super().__init__(detail or self.message)
        self.detail = detail


class IllegalTransitionError(Error):
    code = "illegal_transition"
    message = "This action does not fit the current state of your Kazaplan link."


class NotSignedInError(Error):
    code = "not_signed_in"
    message = "Please sign in to your account first."


class NotLinkedError(Error):
    code = "not_linked"
    message = "Your account is not linked to a Kazaplan account."


class TicketInvalidError(Error):
    """An enrollment ticket is unknown, used or expired (not told apart)."""

    code = "ticket_invalid"
    message = "Please sign in to continue."


class SignedInAsAnotherUserError(Error):
    """A ticket would sign in a page already signed in as someone else."""

    code = "signed_in_as_another_user"
    message = "You are signed in as someone else on this page."


class AuthorizationRefusedError(Error):
    code = "authorization_refused"
    message = (
        "You declined to link your Kazaplan account. You can try again at any time."
    )


class AuthorizationFailedError(Error):
    """Kazaplan reported an authorization error other than a refusal."""

    code = "authorization_failed"
    message = "Kazaplan could not complete the authorization. Please try again."


class StateMissingError(Error):
    code = "state_missing"
    message = "This link request is incomplete. Please start again from the planner."


class StateUnknownError(Error):
    code = "state_unknown"
    message = "This link request was not started here. Please start again."


class StateExpiredError(Error):
    code = "state_expired"
    message = "This link request took too long and has expired. Please start again."


class StateUsedError(Error):
    code = "state_used"
    message = "This link request was already used. Please start again."


class StateMismatchError(Error):
    """The authorization was started by another partner user."""

    code = "state_mismatch"
    message = (
        "This link request belongs to another account. Please sign in with the "
        "account that started it, or start again."
    )


class CodeMissingError(Error):
    code = "code_missing"
    message = "Kazaplan sent no authorization code. Please start again."


class CodeRefusedError(Error):
    """Kazaplan refused to exchange the code (used, expired or not ours)."""

    code = "code_refused"
    message = "Kazaplan did not accept this authorization. Please start again."


class AccountLinkedElsewhereError(Error):
    code = "account_linked_elsewhere"
    message = (
        "This Kazaplan account is already linked to another account on this site. "
        "Sign in to Kazaplan with another account, or unlink it there first."
    )


class KazaplanUnavailableError(Error):
    code = "kazaplan_unavailable"
    message = "Kazaplan is not reachable right now. Please try again in a moment."


class ClientRejectedError(Error):
    """Kazaplan refused this site's client credentials: a configuration fault."""

    code = "client_rejected"
    message = (
        "Linking with Kazaplan is unavailable on this site right now. "
        "Please try again later."
    )


class RefreshRefusedError(Error):
    """Kazaplan refused the refresh token: only a new authorization helps."""

    code = "refresh_refused"
    message = "Your Kazaplan link has expired. Please link your account again."


class AccessTokenRejectedError(Error):
    """Kazaplan refused an access token we believed valid."""

    code = "access_token_rejected"
    message = "Kazaplan no longer accepts this link. Please link your account again."


class LinkChangedError(Error):
    """Another writer saved the link between our read and our write."""

    code = "link_changed"
    message = "Your Kazaplan link changed meanwhile. Please try again."


class TokenDecryptionError(Error):
    """A stored token cannot be decrypted with any configured key."""

    code = "token_undecryptable"
    message = "Your Kazaplan link cannot be read right now. Please try again later."


class LinkBusyError(Error):
    """Another refresh of the same link held it for longer than one is allowed
    to wait."""

    code = "link_busy"
    message = "Your Kazaplan link is being updated. Please try again in a moment."
