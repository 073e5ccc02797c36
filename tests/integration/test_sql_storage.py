"""What the SQL adapters leave in the database, and how they join a request's
transaction."""

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import transaction
from argon2 import PasswordHasher
from pyramid.config import Configurator
from webtest import TestApp

from kzlink import settings
from kzlink.adapters.sql import (
    SqlLinkStore,
    SqlPendingAuthorizations,
    SqlUserStore,
    session_in_transaction,
)
from kzlink.adapters.sql.engine import database_url as engine_url
from kzlink.adapters.sql.engine import make_engine
from kzlink.adapters.sql.models import LinkRow, PendingAuthorizationRow, UserRow
from kzlink.adapters.sql.pending import SqlEnrollmentTickets
from kzlink.adapters.sql.users import Passwords
from kzlink.domain.authorization import digest
from kzlink.domain.errors import TokenDecryptionError
from kzlink.domain.model import Link, TokenRefreshed, Unlinked, transition
from tests.integration.test_sql_stores import (
    NOW,
    USER,
    cheap_passwords,
    linked,
    pending,
    ticket,
    tokens,
)


def raw_rows(engine, table) -> list[str]:
    with engine.connect() as connection:
        return [repr(tuple(row)) for row in connection.execute(sa.select(table))]


def sqlite_bytes(engine) -> bytes:
    # Closing the last connection checkpoints the WAL into the file and
    # removes it, so that the file alone holds everything.
    engine.dispose()
    path = Path(engine.url.database)
    wal = path.with_name(path.name + "-wal")
    return b"".join(file.read_bytes() for file in (path, wal) if file.exists())


def test_tokens_are_stored_encrypted_and_forgotten_on_unlink(
    engine, dbsession_factory, cipher
):
    with dbsession_factory.begin() as session:
        links = SqlLinkStore(session, cipher)
        link = links.save(linked(links.get(USER), "clear1"))
    first = raw_rows(engine, LinkRow.__table__)
    with dbsession_factory.begin() as session:
        SqlLinkStore(session, cipher).save(
            transition(link, TokenRefreshed(tokens("clear2")))
        )
    second = raw_rows(engine, LinkRow.__table__)
    with dbsession_factory.begin() as session:
        links = SqlLinkStore(session, cipher)
        links.save(transition(links.get(USER), Unlinked()))
    after_unlink = raw_rows(engine, LinkRow.__table__)

    clear = ["access-clear1", "refresh-clear1", "access-clear2", "refresh-clear2"]
    for row in first + second + after_unlink:
        assert not any(token in row for token in clear)
    ciphertexts = _ciphertexts(engine, first) + _ciphertexts(engine, second)
    assert len(ciphertexts) == 4
    assert not any(text in row for text in ciphertexts for row in after_unlink)

    if engine.dialect.name == "sqlite":
        content = sqlite_bytes(engine)
        assert not any(token.encode() in content for token in clear)
        assert not any(text.encode() in content for text in ciphertexts)


def _ciphertexts(engine, rows: list[str]) -> list[str]:
    return [
        word.strip("'")
        for row in rows
        for word in row.split(", ")
        if word.startswith("'kz1.")
    ]


def test_a_token_moved_to_another_user_does_not_decrypt(
    engine, dbsession_factory, cipher
):
    with dbsession_factory.begin() as session:
        links = SqlLinkStore(session, cipher)
        links.save(linked(links.get(USER)))
        links.save(linked(links.get("thief"), "thief", kazaplan_user_id=7))
    table = LinkRow.__table__
    with engine.begin() as connection:
        stolen = connection.execute(
            sa.select(table.c.access_token).where(table.c.user_id == USER)
        ).scalar_one()
        connection.execute(
            table.update().where(table.c.user_id == "thief").values(access_token=stolen)
        )

    with dbsession_factory() as session, pytest.raises(TokenDecryptionError):
        SqlLinkStore(session, cipher).get("thief")


def test_states_and_verifiers_are_not_stored_in_clear(
    engine, dbsession_factory, cipher
):
    with dbsession_factory.begin() as session:
        SqlPendingAuthorizations(session, dbsession_factory, cipher).record(pending())
        SqlEnrollmentTickets(session, dbsession_factory).issue(ticket())

    rows = raw_rows(engine, PendingAuthorizationRow.__table__)
    rows += raw_rows(engine, sa.table("enrollment_tickets", sa.column("digest")))
    assert digest("state-1") in rows[0]
    assert digest("ticket-1") in rows[1]
    for secret in ("state-1", "verifier-1", "ticket-1"):
        assert not any(secret in row for row in rows)


def test_a_password_hash_is_upgraded_when_its_parameters_are_outdated(
    dbsession_factory,
):
    with dbsession_factory.begin() as session:
        SqlUserStore(session, cheap_passwords()).register("ann@example.com", "pw")
    stronger = Passwords(PasswordHasher(time_cost=2, memory_cost=8, parallelism=1))

    with dbsession_factory.begin() as session:
        before = session.scalars(sa.select(UserRow.password_hash)).one()
        user = SqlUserStore(session, stronger).authenticate("ann@example.com", "pw")
    with dbsession_factory() as session:
        after = session.scalars(sa.select(UserRow.password_hash)).one()

    assert user is not None
    assert before != after
    assert not stronger.needs_rehash(after)


def test_writes_join_the_transaction_manager(dbsession_factory, cipher):
    manager = transaction.TransactionManager(explicit=True)
    stores = _stores_in(manager, dbsession_factory, cipher)
    stores[0].save(linked(stores[0].get(USER)))
    stores[1].record(pending())
    stores[2].issue(ticket())
    user = stores[3].register("ann@example.com", "pw")
    manager.commit()

    with dbsession_factory() as session:
        assert SqlLinkStore(session, cipher).get(USER).version == 1
        assert SqlUserStore(session).get(user.id) == user
    with dbsession_factory() as session:
        taken = SqlPendingAuthorizations(session, dbsession_factory, cipher).take(
            "state-1", NOW
        )
        redeemed = SqlEnrollmentTickets(session, dbsession_factory).redeem(
            "ticket-1", NOW
        )
    assert (taken.user_id, redeemed) == (USER, USER)


def test_an_aborted_transaction_stores_nothing(dbsession_factory, cipher):
    manager = transaction.TransactionManager(explicit=True)
    stores = _stores_in(manager, dbsession_factory, cipher)
    stores[0].save(linked(Link.unlinked(USER)))
    stores[3].register("ann@example.com", "pw")
    manager.abort()

    with dbsession_factory() as session:
        assert SqlLinkStore(session, cipher).get(USER).version == 0
        assert session.scalars(sa.select(UserRow)).all() == []


def _stores_in(manager, session_factory, cipher):
    manager.begin()
    session = session_in_transaction(session_factory, manager)
    return (
        SqlLinkStore(session, cipher),
        SqlPendingAuthorizations(session, session_factory, cipher),
        SqlEnrollmentTickets(session, session_factory),
        SqlUserStore(session, cheap_passwords()),
    )


def test_includeme_gives_each_request_a_session_in_its_transaction(
    database_url, dbsession_factory, cipher
):
    def link_view(request):
        links = SqlLinkStore(request.kzlink_dbsession, cipher)
        user_id = request.matchdict["user"]
        links.save(linked(links.get(user_id), kazaplan_user_id=len(user_id)))
        if request.params.get("fail"):
            raise RuntimeError("the view failed after saving")
        return {"saved": True}

    with Configurator(settings={}) as config:
        config.registry.kzlink_settings = settings.load(
            {"sqlalchemy.url": database_url}, environ={}
        )
        config.include("kzlink.adapters.sql")
        config.add_route("link", "/link/{user}")
        config.add_view(link_view, route_name="link", renderer="json")
    app = config.make_wsgi_app()
    client = TestApp(app)

    client.get("/link/kept")
    with pytest.raises(RuntimeError):
        client.get("/link/dropped", params={"fail": "1"})
    app.registry.dbsession_factory.kw["bind"].dispose()

    with dbsession_factory() as session:
        links = SqlLinkStore(session, cipher)
        assert links.get("kept").version == 1
        assert links.get("dropped").version == 0


def test_expired_rows_are_purged_but_recent_ones_kept(
    engine, dbsession_factory, cipher
):
    later = NOW + timedelta(days=1, minutes=11)
    with dbsession_factory.begin() as session:
        store = SqlPendingAuthorizations(session, dbsession_factory, cipher)
        store.record(pending("old"))
        store.record(started("recent", later - timedelta(hours=23, minutes=59)))
        store.record(started("new", later))

    kept = raw_rows(engine, PendingAuthorizationRow.__table__)
    assert [digest(state) in "".join(kept) for state in ("old", "recent", "new")] == [
        False,
        True,
        True,
    ]


def started(state: str, at):
    return replace(pending(state), created_at=at, expires_at=at + timedelta(minutes=10))


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u@db/kz", "postgresql+psycopg"),
        ("postgres://u@db/kz", "postgresql+psycopg"),
        ("postgresql+psycopg://u@db/kz", "postgresql+psycopg"),
        ("sqlite:///kz.sqlite", "sqlite"),
    ],
)
def test_plain_postgresql_urls_use_psycopg_3(given, driver):
    assert engine_url(given).drivername == driver


def test_sqlite_connections_get_kzlinks_pragmas(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'kz.sqlite'}")
    try:
        with engine.connect() as connection:
            pragmas = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "busy_timeout", "secure_delete")
                + ("foreign_keys",)
            }
    finally:
        engine.dispose()
    assert pragmas == {
        "journal_mode": "wal",
        "busy_timeout": 5000,
        "secure_delete": 1,
        "foreign_keys": 1,
    }
