"""Tokens encrypted at rest: AES-256-GCM under a list of keys.

The ``token_keys`` setting (KZLINK_TOKEN_KEYS) lists urlsafe-base64 keys of 32
bytes, separated by commas or spaces. The first encrypts; all decrypt, so that
a new key can be put first and the old ones kept until ``kzlink-reencrypt`` has
moved every stored token to the new key.

A ciphertext reads ``kz1.<key id>.<nonce and sealed token>``: the format
version, the first bytes of the key's SHA-256 (so that decryption picks the
right key), then a random 96-bit nonce and the GCM output, in urlsafe base64.
The header and the context (where the ciphertext is stored) are authenticated
as associated data, so a ciphertext moved to another row or column fails.

Run ``python -m kzlink.adapters.cipher generate-key`` for a new key.
"""

import argparse
import base64
import binascii
import hashlib
import logging
import os
import re
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from zope.interface import implementer

from kzlink.domain.errors import TokenDecryptionError
from kzlink.domain.ports import ITokenCipher

log = logging.getLogger(__name__)

VERSION = "kz1"
KEY_BYTES = 32
NONCE_BYTES = 12
KEY_ID_BYTES = 4
SETTING = "kzlink.token_keys (KZLINK_TOKEN_KEYS)"


def generate_key() -> str:
    """A new random key, in the form the ``token_keys`` setting takes."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def key_id(key: bytes) -> str:
    digest = hashlib.sha256(key).digest()[:KEY_ID_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@implementer(ITokenCipher)
class TokenCipher:
    def __init__(self, keys: list[bytes]):
        if not keys:
            raise ValueError("at least one key is needed")
        self._keys = [(key_id(key), AESGCM(key)) for key in keys]

    def __repr__(self) -> str:
        return f"TokenCipher(key_ids={[kid for kid, _ in self._keys]})"

    @classmethod
    def from_setting(cls, text: str) -> "TokenCipher":
        """Read the ``token_keys`` setting; ValueError says what is wrong."""
        words = [word for word in re.split(r"[\s,]+", text or "") if word]
        if not words:
            raise ValueError(
                f"{SETTING} is empty: give at least one key "
                "(python -m kzlink.adapters.cipher generate-key makes one)"
            )
        keys = [_decode_key(word, position) for position, word in enumerate(words, 1)]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{SETTING} lists the same key twice")
        return cls(keys)

    def encrypt(self, plaintext: str, context: str) -> str:
        kid, aead = self._keys[0]
        header = f"{VERSION}.{kid}"
        nonce = os.urandom(NONCE_BYTES)
        sealed = aead.encrypt(
            nonce, plaintext.encode("utf-8"), _associated(header, context)
        )
        body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
        return f"{header}.{body}"

    def decrypt(self, ciphertext: str, context: str) -> str:
        kid, nonce, sealed = _parse(ciphertext)
        header = f"{VERSION}.{kid}"
        for candidate_id, aead in self._keys:
            if candidate_id != kid:
                continue
            try:
                plaintext = aead.decrypt(nonce, sealed, _associated(header, context))
            except InvalidTag:
                continue
            return plaintext.decode("utf-8")
        raise TokenDecryptionError(f"no key fits (key id {kid}, context {context})")

    def needs_rotation(self, ciphertext: str) -> bool:
        try:
            kid, _, _ = _parse(ciphertext)
        except TokenDecryptionError:
            return True
        return kid != self._keys[0][0]


def _decode_key(word: str, position: int) -> bytes:
    padded = word + "=" * (-len(word) % 4)
    try:
        key = base64.b64decode(padded, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"key {position} of {SETTING} is not urlsafe base64") from None
    if len(key) != KEY_BYTES:
        raise ValueError(
            f"key {position} of {SETTING} is {len(key)} bytes long, not {KEY_BYTES}"
        )
    return key


def _parse(ciphertext: str) -> tuple[str, bytes, bytes]:
    parts = ciphertext.split(".") if isinstance(ciphertext, str) else ()
    if len(parts) != 3 or parts[0] != VERSION:
        raise TokenDecryptionError("not a kzlink ciphertext")
    try:
        raw = base64.b64decode(parts[2], altchars=b"-_", validate=True)
    except (binascii.Error, ValueError, UnicodeError):
        raise TokenDecryptionError("ciphertext is not base64") from None
    if len(raw) < NONCE_BYTES + 16:
        raise TokenDecryptionError("ciphertext is too short")
    return parts[1], raw[:NONCE_BYTES], raw[NONCE_BYTES:]


def _associated(header: str, context: str) -> bytes:
    # The NUL keeps "a" + "b.c" apart from "a.b" + "c".
    return f"{header}\0{context}".encode()


def reencrypt_main(argv: list[str] | None = None) -> int:
    """``kzlink-reencrypt CONFIG_URI``: move every stored secret to the newest
    key, in one transaction. Running it again changes nothing."""
    parser = argparse.ArgumentParser(
        prog="kzlink-reencrypt",
        description="Re-encrypt stored tokens and code verifiers under the "
        "first key of KZLINK_TOKEN_KEYS.",
    )
    parser.add_argument("config_uri", help="the ini file, e.g. production.ini")
    args = parser.parse_args(argv)

    # Imported here: encrypting tokens needs neither Pyramid nor SQLAlchemy.
    from pyramid.paster import get_appsettings, setup_logging

    from kzlink import redaction
    from kzlink import settings as kzlink_settings
    from kzlink.adapters.sql.engine import make_engine, make_session_factory
    from kzlink.adapters.sql.links import reencrypt_links
    from kzlink.adapters.sql.pending import reencrypt_verifiers

    redaction.install()
    setup_logging(args.config_uri)
    settings = kzlink_settings.load(get_appsettings(args.config_uri))
    try:
        cipher = TokenCipher.from_setting(settings.token_keys)
    except ValueError as error:
        print(f"kzlink-reencrypt: {error}", file=sys.stderr)
        return 2

    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine).begin() as session:
            links = reencrypt_links(session, cipher)
            verifiers = reencrypt_verifiers(session, cipher)
    except TokenDecryptionError as error:
        # The transaction rolled back: every row is as it was.
        print(
            f"kzlink-reencrypt: {error}; no key of KZLINK_TOKEN_KEYS opens "
            "it, so nothing was changed. Put the key it was made with back in "
            "the list.",
            file=sys.stderr,
        )
        return 1
    finally:
        engine.dispose()
    print(f"re-encrypted {links} link(s) and {verifiers} pending authorization(s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kzlink.adapters.cipher")
    parser.add_argument("command", choices=["generate-key"])
    parser.parse_args(argv)
    print(generate_key())
    return 0


if __name__ == "__main__":
    sys.exit(main())
