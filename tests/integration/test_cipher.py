"""Token encryption: AES-GCM round trips, key rotation, refusals, the key
setting, and the re-encryption command on a real database."""

import base64
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from zope.interface.verify import verifyObject

from kzlink.adapters.cipher import TokenCipher, generate_key, reencrypt_main
from kzlink.adapters.sql import SqlLinkStore, SqlPendingAuthorizations
from kzlink.adapters.sql.engine import make_engine, make_session_factory
from kzlink.adapters.sql.links import check_keys
from kzlink.adapters.sql.models import LinkRow
from kzlink.domain.errors import TokenDecryptionError
from kzlink.domain.model import LinkState, TokenRefreshed, Unlinked, transition
from kzlink.domain.ports import ITokenCipher
from tests.integration.test_sql_stores import NOW, linked, pending, tokens

OLD, NEW = generate_key(), generate_key()


def test_round_trip():
    cipher = TokenCipher.from_setting(NEW)
    ciphertext = cipher.encrypt("a token", "user-1:access")
    assert cipher.decrypt(ciphertext, "user-1:access") == "a token"
    assert "a token" not in ciphertext
    assert verifyObject(ITokenCipher, cipher)


def test_the_same_token_encrypts_differently_each_time():
    cipher = TokenCipher.from_setting(NEW)
    assert cipher.encrypt("a token", "c") != cipher.encrypt("a token", "c")


def test_unicode_and_empty_tokens_round_trip():
    cipher = TokenCipher.from_setting(NEW)
    for text in ("", "jeton-\u00e9t\u00e9-\U0001f511"):
        assert cipher.decrypt(cipher.encrypt(text, "c"), "c") == text


def test_an_old_key_still_decrypts_and_asks_for_rotation():
    before = TokenCipher.from_setting(OLD).encrypt("a token", "c")
    rotated = TokenCipher.from_setting(f"{NEW}, {OLD}")
    after = rotated.encrypt("a token", "c")

    assert rotated.decrypt(before, "c") == "a token"
    assert rotated.needs_rotation(before)
    assert not rotated.needs_rotation(after)
    with pytest.raises(TokenDecryptionError):
        TokenCipher.from_setting(OLD).decrypt(after, "c")


def test_keys_may_be_separated_by_whitespace_and_lines():
    cipher = TokenCipher.from_setting(f"\n  {NEW}\n  {OLD}\n")
    old = TokenCipher.from_setting(OLD).encrypt("a token", "c")
    assert cipher.decrypt(old, "c") == "a token"


def test_another_context_does_not_decrypt():
    cipher = TokenCipher.from_setting(NEW)
    ciphertext = cipher.encrypt("a token", "user-1:access")
    for context in ("user-1:refresh", "user-2:access", ""):
        with pytest.raises(TokenDecryptionError):
            cipher.decrypt(ciphertext, context)


def test_an_unknown_key_does_not_decrypt():
    ciphertext = TokenCipher.from_setting(OLD).encrypt("a token", "c")
    with pytest.raises(TokenDecryptionError):
        TokenCipher.from_setting(NEW).decrypt(ciphertext, "c")


def test_any_altered_byte_is_detected():
    cipher = TokenCipher.from_setting(NEW)
    ciphertext = cipher.encrypt("a token", "c")
    header, body = ciphertext.rsplit(".", 1)
    raw = base64.urlsafe_b64decode(body)
    for position in range(len(raw)):
        altered = bytearray(raw)
        altered[position] ^= 0x01
        forged = f"{header}.{base64.urlsafe_b64encode(bytes(altered)).decode()}"
        with pytest.raises(TokenDecryptionError):
            cipher.decrypt(forged, "c")


@pytest.mark.parametrize(
    "ciphertext",
    ["", "a token", "kz1.abc", "kz2.abc.AAAA", "kz1.abc.!!!", "kz1.abc.AAAA", None],
)
def test_what_is_not_a_ciphertext_does_not_decrypt(ciphertext):
    cipher = TokenCipher.from_setting(NEW)
    with pytest.raises(TokenDecryptionError):
        cipher.decrypt(ciphertext, "c")
    assert cipher.needs_rotation(ciphertext)


@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        ("", "is empty"),
        (" , ", "is empty"),
        ("not base64 at all!", "key 1 of"),
        (f"{NEW},{base64.urlsafe_b64encode(b'short').decode()}", "key 2 of"),
        (base64.urlsafe_b64encode(os.urandom(16)).decode(), "16 bytes long"),
        (f"{NEW},{NEW}", "same key twice"),
    ],
)
def test_a_malformed_key_setting_is_refused_clearly(setting, complaint):
    with pytest.raises(ValueError) as refused:
        TokenCipher.from_setting(setting)
    message = str(refused.value)
    assert complaint in message
    assert "KZLINK_TOKEN_KEYS" in message
    assert NEW not in message


def test_a_key_without_padding_is_accepted():
    cipher = TokenCipher.from_setting(NEW.rstrip("="))
    assert cipher.decrypt(TokenCipher.from_setting(NEW).encrypt("t", "c"), "c") == "t"


def test_generated_keys_are_32_random_bytes():
    keys = {generate_key() for _ in range(20)}
    assert len(keys) == 20
    assert all(len(base64.urlsafe_b64decode(key)) == 32 for key in keys)


def test_the_repr_names_key_ids_only():
    assert NEW not in repr(TokenCipher.from_setting(NEW))


def test_the_module_prints_a_new_key():
    printed = subprocess.run(
        [sys.executable, "-m", "kzlink.adapters.cipher", "generate-key"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert TokenCipher.from_setting(printed)


def write_ini(path, database_url: str, keys: str):
    path.write_text(
        "[app:main]\n"
        "use = egg:kzlink\n"
        f"sqlalchemy.url = {database_url}\n"
        f"kzlink.token_keys = {keys}\n"
    )
    return str(path)


@pytest.fixture
def no_setting_overrides(monkeypatch):
    for name in ("KZLINK_TOKEN_KEYS", "KZLINK_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_reencrypt_moves_every_secret_to_the_newest_key(
    tmp_path, database_url, dbsession_factory, capsys, no_setting_overrides
):
    old = TokenCipher.from_setting(OLD)
    with dbsession_factory.begin() as session:
        links = SqlLinkStore(session, old)
        link = links.save(linked(links.get("a"), kazaplan_user_id=1))
        links.save(transition(link, TokenRefreshed(tokens("second"))))
        gone = links.save(linked(links.get("b"), kazaplan_user_id=2))
        links.save(transition(gone, Unlinked()))
        SqlPendingAuthorizations(session, dbsession_factory, old).record(pending())
        SqlPendingAuthorizations(session, dbsession_factory, old).record(
            pending("no-verifier", verifier=None)
        )
    ini = write_ini(tmp_path / "app.ini", database_url, f"{NEW},{OLD}")

    assert reencrypt_main([ini]) == 0
    assert "re-encrypted 1 link(s) and 1 pending" in capsys.readouterr().out
    assert reencrypt_main([ini]) == 0
    assert "re-encrypted 0 link(s) and 0 pending" in capsys.readouterr().out

    new_only = TokenCipher.from_setting(NEW)
    with dbsession_factory() as session:
        link = SqlLinkStore(session, new_only).get("a")
        taken = SqlPendingAuthorizations(session, dbsession_factory, new_only).take(
            "state-1", NOW + timedelta(minutes=1)
        )
    assert (link.state, link.tokens, link.version) == (
        LinkState.LINKED,
        tokens("second"),
        2,
    )
    assert taken.code_verifier == "verifier-1"


def test_reencrypt_refuses_a_malformed_key_setting(
    tmp_path, capsys, no_setting_overrides
):
    ini = write_ini(tmp_path / "app.ini", f"sqlite:///{tmp_path}/x.sqlite", "nope")
    assert reencrypt_main([ini]) == 2
    assert "KZLINK_TOKEN_KEYS" in capsys.readouterr().err


def raw_link_tokens(dbsession_factory, user_id: str) -> tuple:
    with dbsession_factory() as session:
        row = session.get(LinkRow, user_id)
        return row.access_token, row.refresh_token


def test_reencrypt_without_the_old_key_changes_nothing_and_says_why(
    tmp_path, database_url, dbsession_factory, capsys, no_setting_overrides
):
    old = TokenCipher.from_setting(OLD)
    with dbsession_factory.begin() as session:
        links = SqlLinkStore(session, old)
        links.save(linked(links.get("a"), kazaplan_user_id=1))
    before = raw_link_tokens(dbsession_factory, "a")
    # The old key was dropped from the list before the rows were moved.
    ini = write_ini(tmp_path / "app.ini", database_url, NEW)

    assert reencrypt_main([ini]) == 1

    err = capsys.readouterr().err
    assert "token of user a" in err and "nothing was changed" in err
    assert raw_link_tokens(dbsession_factory, "a") == before


def save_link(session_factory, cipher, user_id: str, kazaplan_user_id: int):
    with session_factory.begin() as session:
        links = SqlLinkStore(session, cipher)
        links.save(linked(links.get(user_id), kazaplan_user_id=kazaplan_user_id))


def test_check_keys_passes_when_every_key_in_use_is_listed(dbsession_factory):
    save_link(dbsession_factory, TokenCipher.from_setting(OLD), "a", 1)
    save_link(dbsession_factory, TokenCipher.from_setting(NEW), "b", 2)

    check_keys(dbsession_factory, TokenCipher.from_setting(f"{NEW},{OLD}"))


def test_check_keys_fails_for_a_key_still_in_use_but_not_the_newest_rows(
    dbsession_factory,
):
    # The most recently saved link is under the new key; an older one is still
    # under the key that was dropped from the list.
    save_link(dbsession_factory, TokenCipher.from_setting(OLD), "a", 1)
    save_link(dbsession_factory, TokenCipher.from_setting(NEW), "b", 2)
    save_link(dbsession_factory, TokenCipher.from_setting(NEW), "c", 3)

    with pytest.raises(TokenDecryptionError, match="key id"):
        check_keys(dbsession_factory, TokenCipher.from_setting(NEW))


def test_check_keys_fails_for_a_refresh_token_under_a_missing_key(
    engine, dbsession_factory
):
    save_link(dbsession_factory, TokenCipher.from_setting(NEW), "a", 1)
    other = TokenCipher.from_setting(OLD).encrypt("refresh", "a:refresh")
    table = LinkRow.__table__
    with engine.begin() as connection:
        connection.execute(table.update().values(refresh_token=other))

    with pytest.raises(TokenDecryptionError):
        check_keys(dbsession_factory, TokenCipher.from_setting(NEW))


def test_check_keys_does_nothing_without_tokens(dbsession_factory):
    check_keys(dbsession_factory, TokenCipher.from_setting(NEW))


def test_check_keys_does_nothing_without_a_table(empty_database_url):
    engine = make_engine(empty_database_url)
    try:
        check_keys(make_session_factory(engine), TokenCipher.from_setting(NEW))
    finally:
        engine.dispose()
