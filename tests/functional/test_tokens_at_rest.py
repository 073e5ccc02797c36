"""What a stolen database holds after a real link and refresh: no token, code
or state in clear, in any row of any table (and, on SQLite, anywhere in the
file)."""

from pathlib import Path

import sqlalchemy as sa

from tests.fixtures.simulator import query_params, walk_authorize
from tests.fixtures.webapp import path_of

EMAIL = "at-rest@example.com"


def every_row(engine) -> str:
    tables = sa.MetaData()
    tables.reflect(engine)
    with engine.connect() as connection:
        return "\n".join(
            repr(tuple(row))
            for table in tables.sorted_tables
            for row in connection.execute(sa.select(table))
        )


def sqlite_file(engine) -> bytes:
    # Closing the last connection checkpoints the WAL into the file.
    engine.dispose()
    path = Path(engine.url.database)
    files = (path, path.with_name(path.name + "-wal"))
    return b"".join(file.read_bytes() for file in files if file.exists())


def test_no_secret_of_a_link_and_its_refresh_is_stored_in_clear(
    make_webapp, kazaplan, database_url
):
    webapp = make_webapp(**{"sqlalchemy.url": database_url})
    shopper = webapp.shopper()
    shopper.register(EMAIL)
    shopper.log_in(EMAIL, framed=True)
    callback = walk_authorize(shopper.start_authorization())
    shopper.get(path_of(callback), status=303).follow(status=200)
    user_id = webapp.user_id(EMAIL)
    linked = webapp.link_of(user_id)
    webapp.expire_stored_token(user_id)
    headers = {"X-CSRF-Token": shopper.csrf_token()}
    shopper.post_json("/kazaplan/refresh_token", {}, headers=headers)
    refreshed = webapp.link_of(user_id)

    secrets = {
        "first access token": linked.tokens.access_token,
        "first refresh token": linked.tokens.refresh_token,
        "new access token": refreshed.tokens.access_token,
        "new refresh token": refreshed.tokens.refresh_token,
        "code": query_params(callback)["code"],
        "state": query_params(callback)["state"],
    }
    assert refreshed.access_token != linked.access_token
    engine = webapp.app.registry.dbsession_factory.kw["bind"]
    rows = every_row(engine)
    assert EMAIL in rows, "the scan reads the tables kzlink writes"
    assert [name for name, value in secrets.items() if value in rows] == []
    if engine.dialect.name == "sqlite":
        content = sqlite_file(engine)
        found = [name for name, value in secrets.items() if value.encode() in content]
        assert found == []
